//! Token trees as source text: what the property tests generate and mutate.
//!
//! Inputs are kept as text and lexed for each case, because only lexed tokens carry
//! real spans (`span-locations`); tokens built in code all sit at the call site, and
//! the tests check where errors point. A tree is always balanced, as the compiler
//! guarantees for real macro input, so every mutation still lexes.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use proptest::prelude::*;
use proptest::sample::Index;

/// A token or a delimited group, as source text.
#[derive(Clone, Debug)]
pub enum Tree {
    /// Source text of one or more tokens that lex on their own, e.g. `lstm`, `==`,
    /// `'a`, `-5`, `/// doc` plus its newline.
    Leaf(String),
    /// A group and its contents.
    Group(Delim, Vec<Tree>),
}

/// The three delimiters a macro input can contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delim {
    /// `( )`
    Paren,
    /// `[ ]`
    Bracket,
    /// `{ }`
    Brace,
}

impl Delim {
    fn chars(self) -> (&'static str, &'static str) {
        match self {
            Delim::Paren => ("(", ")"),
            Delim::Bracket => ("[", "]"),
            Delim::Brace => ("{", "}"),
        }
    }
}

/// Any delimiter.
pub fn delim() -> impl Strategy<Value = Delim> {
    prop_oneof![Just(Delim::Paren), Just(Delim::Bracket), Just(Delim::Brace)]
}

/// Source text of `trees`, every token separated by a space.
pub fn render(trees: &[Tree]) -> String {
    let mut out = String::new();
    render_into(trees, &mut out);
    out
}

fn render_into(trees: &[Tree], out: &mut String) {
    for tree in trees {
        match tree {
            Tree::Leaf(text) => out.push_str(text),
            Tree::Group(delim, inner) => {
                let (open, close) = delim.chars();
                out.push_str(open);
                out.push(' ');
                render_into(inner, out);
                out.push_str(close);
            }
        }
        out.push(' ');
    }
}

/// Lexes `src`, which the generators only ever make lexable.
pub fn lex(src: &str) -> TokenStream {
    match src.parse() {
        Ok(tokens) => tokens,
        Err(err) => panic!("the generator made text that does not lex ({err}): {src}"),
    }
}

/// The trees of lexed tokens; a joint punctuation mark stays glued to what follows
/// (`==`, `'a`), so that rendering keeps its meaning.
pub fn from_tokens(tokens: TokenStream) -> Vec<Tree> {
    let mut out = Vec::new();
    let mut glued = String::new();
    for tt in tokens {
        match tt {
            TokenTree::Group(group) => {
                let inner = from_tokens(group.stream());
                let delim = match group.delimiter() {
                    Delimiter::Parenthesis => Delim::Paren,
                    Delimiter::Bracket => Delim::Bracket,
                    Delimiter::Brace => Delim::Brace,
                    Delimiter::None => {
                        out.extend(inner);
                        continue;
                    }
                };
                out.push(Tree::Group(delim, inner));
            }
            TokenTree::Punct(p) if p.spacing() == Spacing::Joint => glued.push(p.as_char()),
            other => {
                glued.push_str(&other.to_string());
                out.push(Tree::Leaf(std::mem::take(&mut glued)));
            }
        }
    }
    if !glued.is_empty() {
        out.push(Tree::Leaf(glued));
    }
    out
}

/// One edit of a tree, at the node numbered by `at` in pre-order.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Removes the node (a whole group with its contents).
    Drop(Index),
    /// Writes the node twice.
    Duplicate(Index),
    /// Swaps the node with its next sibling.
    Swap(Index),
    /// Gives a group another delimiter: `( )` ↔ `[ ]` ↔ `{ }`.
    Redelimit(Index, Delim),
    /// Replaces the group by its contents.
    Unwrap(Index),
    /// Replaces the node by the text.
    Replace(Index, String),
    /// Inserts the text before the node.
    Insert(Index, String),
}

/// Any mutation, with replacement text from `junk`.
pub fn mutation(junk: BoxedStrategy<String>) -> impl Strategy<Value = Mutation> {
    let at = any::<Index>;
    prop_oneof![
        2 => at().prop_map(Mutation::Drop),
        1 => at().prop_map(Mutation::Duplicate),
        1 => at().prop_map(Mutation::Swap),
        1 => (at(), delim()).prop_map(|(i, d)| Mutation::Redelimit(i, d)),
        1 => at().prop_map(Mutation::Unwrap),
        3 => (at(), junk.clone()).prop_map(|(i, s)| Mutation::Replace(i, s)),
        2 => (at(), junk).prop_map(|(i, s)| Mutation::Insert(i, s)),
    ]
}

/// Nodes of `trees`, groups and their contents included.
fn count(trees: &[Tree]) -> usize {
    trees
        .iter()
        .map(|t| match t {
            Tree::Leaf(_) => 1,
            Tree::Group(_, inner) => 1 + count(inner),
        })
        .sum()
}

/// Applies `m` to `trees` (nothing happens to an empty input).
pub fn apply(trees: &mut Vec<Tree>, m: &Mutation) {
    let n = count(trees);
    if n == 0 {
        if let Mutation::Insert(_, text) | Mutation::Replace(_, text) = m {
            trees.push(Tree::Leaf(text.clone()));
        }
        return;
    }
    let at = match m {
        Mutation::Drop(i)
        | Mutation::Duplicate(i)
        | Mutation::Swap(i)
        | Mutation::Redelimit(i, _)
        | Mutation::Unwrap(i)
        | Mutation::Replace(i, _)
        | Mutation::Insert(i, _) => i.index(n),
    };
    let mut seen = 0;
    edit(trees, at, &mut seen, m);
}

/// Finds node `at` (counting in `seen`) and edits the list that holds it.
fn edit(list: &mut Vec<Tree>, at: usize, seen: &mut usize, m: &Mutation) -> bool {
    for pos in 0..list.len() {
        if *seen == at {
            edit_here(list, pos, m);
            return true;
        }
        *seen += 1;
        if let Tree::Group(_, inner) = &mut list[pos] {
            if edit(inner, at, seen, m) {
                return true;
            }
        }
    }
    false
}

fn edit_here(list: &mut Vec<Tree>, pos: usize, m: &Mutation) {
    match m {
        Mutation::Drop(_) => {
            list.remove(pos);
        }
        Mutation::Duplicate(_) => list.insert(pos, list[pos].clone()),
        Mutation::Swap(_) => {
            if pos + 1 < list.len() {
                list.swap(pos, pos + 1);
            }
        }
        Mutation::Redelimit(_, new) => {
            if let Tree::Group(delim, _) = &mut list[pos] {
                *delim = *new;
            }
        }
        Mutation::Unwrap(_) => {
            if let Tree::Group(_, inner) = list[pos].clone() {
                list.splice(pos..=pos, inner);
            }
        }
        Mutation::Replace(_, text) => list[pos] = Tree::Leaf(text.clone()),
        Mutation::Insert(_, text) => list.insert(pos, Tree::Leaf(text.clone())),
    }
}
