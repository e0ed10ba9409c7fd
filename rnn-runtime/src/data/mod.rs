//! Time-series data helpers: load columns from CSV, split in time order, scale, and cut
//! into the sliding windows a `model!` network trains on.
//!
//! ```
//! use rnn_runtime::data::{time_split, MinMaxScaler, Scaler, Window};
//! use rnn_runtime::ndarray::Array2;
//!
//! # fn main() -> Result<(), rnn_runtime::Error> {
//! // 100 steps of two features; in practice `load_csv(path, &["a", "b"])?`.
//! let data = Array2::from_shape_fn((100, 2), |(t, f)| (t * (f + 1)) as f32);
//! let parts = time_split(data.view(), 0.7, 0.15)?;          // 70 / 15 / 15 rows
//! let scaler = MinMaxScaler::fit(parts.train)?;              // fitted on train only
//! let train = scaler.transform(parts.train)?;
//! let (x, y) = Window::new(10, 1).multivariate(train.view(), &[1])?;
//! assert_eq!(x.dim(), (60, 10, 2));                          // 70 - 10 - 1 + 1 windows
//! assert_eq!(y.dim(), (60, 1));
//! # Ok(())
//! # }
//! ```

mod scale;
mod split;
mod table;
mod window;

pub use scale::{MinMaxScaler, Scaler, StandardScaler};
pub use split::{split_ranges, time_split, Split};
pub use table::{load_csv, read_csv};
pub use window::Window;
