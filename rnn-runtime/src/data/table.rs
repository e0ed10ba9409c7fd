//! Reading numeric columns of a CSV file by name.

use std::io::Read;
use std::path::Path;

use ndarray::Array2;

use crate::error::{Error, Result};

/// Reads the named `columns` of a CSV file with a header row into `[rows, columns]`,
/// in the order the names are given; other columns (dates, labels) are not parsed.
///
/// Fields are trimmed. Errors name the file and say what is wrong: a missing column
/// ([`Error::MissingColumn`], listing the columns there are), a cell that is not a
/// finite number ([`Error::NonNumeric`], with its line and column; an empty cell or
/// `NaN` counts), an empty file or one with no data rows ([`Error::EmptyFile`]), a
/// malformed row ([`Error::Csv`]).
///
/// ```no_run
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let sunspots = rnn_runtime::data::load_csv("data/sunspots.csv", &["SUNACTIVITY"])?;
/// assert_eq!(sunspots.ncols(), 1);
/// # Ok(())
/// # }
/// ```
pub fn load_csv(path: impl AsRef<Path>, columns: &[&str]) -> Result<Array2<f32>> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    read_csv(std::io::BufReader::new(file), path, columns)
}

/// [`load_csv`] from any reader; `source` names it in errors.
///
/// ```
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let text = "year,spots,note\n1700,5,a\n1701,11,b\n";
/// let data = rnn_runtime::data::read_csv(text.as_bytes(), "inline", &["spots", "year"])?;
/// assert_eq!(data, rnn_runtime::ndarray::array![[5.0f32, 1700.0], [11.0, 1701.0]]);
/// # Ok(())
/// # }
/// ```
pub fn read_csv(
    reader: impl Read,
    source: impl AsRef<Path>,
    columns: &[&str],
) -> Result<Array2<f32>> {
    let path = source.as_ref();
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        let reason = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(source) => Error::Io {
                path: path.to_owned(),
                source,
            },
            _ => Error::Csv {
                path: path.to_owned(),
                line,
                reason,
            },
        }
    };
    if columns.is_empty() {
        return Err(Error::DataOption("no column names given".into()));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header: Vec<String> = rdr
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(str::to_owned)
        .collect();
    if header.is_empty() {
        return Err(Error::EmptyFile {
            path: path.to_owned(),
            header: false,
        });
    }
    let index = columns
        .iter()
        .map(|&name| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| Error::MissingColumn {
                    path: path.to_owned(),
                    column: name.to_owned(),
                    available: header.clone(),
                })
        })
        .collect::<Result<Vec<usize>>>()?;

    let mut values = Vec::new();
    let mut rows = 0;
    let mut record = csv::StringRecord::new();
    while rdr.read_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, |p| p.line());
        for (&i, &name) in index.iter().zip(columns) {
            let cell = record.get(i).unwrap_or("");
            match cell.parse::<f32>() {
                Ok(v) if v.is_finite() => values.push(v),
                _ => {
                    return Err(Error::NonNumeric {
                        path: path.to_owned(),
                        line,
                        column: name.to_owned(),
                        value: cell.to_owned(),
                    })
                }
            }
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(Error::EmptyFile {
            path: path.to_owned(),
            header: true,
        });
    }
    Array2::from_shape_vec((rows, columns.len()), values).map_err(|e| Error::Csv {
        path: path.to_owned(),
        line: 0,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn read(text: &str, columns: &[&str]) -> Result<Array2<f32>> {
        read_csv(text.as_bytes(), "t.csv", columns)
    }

    #[test]
    fn reads_named_columns_in_the_order_asked() {
        let text = "date, a ,b\n2020-01, 1.5, -2\n2020-02,3e2,4\n";
        assert_eq!(
            read(text, &["b", "a"]).unwrap(),
            array![[-2.0f32, 1.5], [4.0, 300.0]]
        );
        assert_eq!(read(text, &["a", "a"]).unwrap().dim(), (2, 2));
    }

    #[test]
    fn missing_column_lists_the_available_ones() {
        let err = read("x,y\n1,2\n", &["x", "z"]).unwrap_err();
        assert!(
            matches!(&err, Error::MissingColumn { column, available, .. }
            if column == "z" && available == &["x", "y"])
        );
        assert_eq!(
            err.to_string(),
            "t.csv: no column `z`; the columns are `x`, `y`"
        );
    }

    #[test]
    fn non_numeric_cell_names_line_and_column() {
        let err = read("x,y\n1,2\n3,oops\n", &["x", "y"]).unwrap_err();
        assert!(
            matches!(&err, Error::NonNumeric { line: 3, column, value, .. }
            if column == "y" && value == "oops")
        );
        assert_eq!(
            err.to_string(),
            "t.csv, line 3, column `y`: `oops` is not a finite number"
        );
        let err = read("x,y\n1,\n", &["y"]).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("the empty cell is not a finite number"),
            "{err}"
        );
        assert!(matches!(
            read("x\nNaN\n", &["x"]),
            Err(Error::NonNumeric { line: 2, .. })
        ));
        assert!(matches!(
            read("x\ninf\n", &["x"]),
            Err(Error::NonNumeric { .. })
        ));
    }

    #[test]
    fn unparsed_columns_may_hold_anything() {
        assert_eq!(
            read("n,label\n1,\n2,two\n", &["n"]).unwrap(),
            array![[1.0f32], [2.0]]
        );
    }

    #[test]
    fn empty_file_and_header_only_file() {
        let err = read("", &["x"]).unwrap_err();
        assert!(matches!(err, Error::EmptyFile { header: false, .. }));
        assert_eq!(err.to_string(), "t.csv: is empty");
        let err = read("x,y\n", &["x"]).unwrap_err();
        assert!(matches!(err, Error::EmptyFile { header: true, .. }));
        assert_eq!(err.to_string(), "t.csv: has a header but no data rows");
    }

    #[test]
    fn ragged_row_is_a_csv_error_with_its_line() {
        let err = read("x,y\n1,2\n3\n", &["x"]).unwrap_err();
        assert!(matches!(err, Error::Csv { line: 3, .. }), "{err}");
        assert!(matches!(read("x\n1\n", &[]), Err(Error::DataOption(_))));
    }

    #[test]
    fn load_csv_reads_a_file_and_reports_a_missing_one() {
        let dir = std::env::temp_dir().join(format!("rnn-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("series.csv");
        std::fs::write(&path, "t,v\n0,0.25\n1,0.5\n").unwrap();
        assert_eq!(load_csv(&path, &["v"]).unwrap(), array![[0.25f32], [0.5]]);
        let err = load_csv(dir.join("absent.csv"), &["v"]).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().contains("absent.csv"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
