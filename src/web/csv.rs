//! CSV answers (docs/audit-and-export.md): RFC 4180 text with a UTF-8 byte order mark for
//! spreadsheet programs, cells that could start a formula made inert, and the rows sent as
//! they are read from the database.

use std::borrow::Cow;

use actix_web::HttpResponse;
use actix_web::http::header::{CONTENT_DISPOSITION, HeaderValue};
use bytes::Bytes;
use futures_util::{StreamExt, stream};

use crate::workflows::export::Chunks;

/// Excel reads a CSV file as the computer's legacy code page unless it starts with this
/// mark; with it, company names in any script open as written. Other readers (Python's
/// `utf-8-sig`, LibreOffice, most CSV libraries) skip it.
pub const BYTE_ORDER_MARK: &str = "\u{feff}";

/// The first characters with which a spreadsheet program reads a cell as a formula (tab
/// and carriage return too, which some programs skip before looking).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written: made inert with a leading `'` when it could start a formula, then
/// quoted when it holds a comma, a quote or a line break (quotes doubled).
pub fn cell(value: &str) -> Cow<'_, str> {
    let guarded: Cow<'_, str> =
        if value.starts_with(FORMULA_STARTS) { Cow::Owned(format!("'{value}")) } else { Cow::Borrowed(value) };
    if guarded.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", guarded.replace('"', "\"\"")))
    } else {
        guarded
    }
}

/// One line of cells, ended by CRLF as RFC 4180 has it.
pub fn line<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut out = String::new();
    for (i, c) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&cell(c.as_ref()));
    }
    out.push_str("\r\n");
    out
}

/// The columns of a CSV: each header with how a row fills it, in order.
pub type Columns<T> = &'static [(&'static str, fn(&T) -> String)];

/// A CSV download named `{name}-{today}.csv` (UTC): the mark and the header line, then each
/// chunk of rows as it is read. A database error midway ends the answer early, so the
/// browser reports the download as failed rather than saving part of it as if whole.
pub fn download<T: 'static>(name: &str, columns: Columns<T>, chunks: Chunks<T>) -> HttpResponse {
    let head = format!("{BYTE_ORDER_MARK}{}", line(columns.iter().map(|(h, _)| *h)));
    let rows = chunks.map(move |chunk| {
        chunk.map(|rows| {
            let mut text = String::with_capacity(rows.len() * 160);
            for r in &rows {
                text.push_str(&line(columns.iter().map(|(_, value)| value(r))));
            }
            Bytes::from(text)
        })
    });
    let body = stream::once(async move { Ok(Bytes::from(head)) }).chain(rows);
    let file = format!("{name}-{}.csv", chrono::Utc::now().format("%Y-%m-%d"));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((CONTENT_DISPOSITION, disposition))
        .streaming(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cells_are_quoted_only_when_they_need_it() {
        assert_eq!(cell("Contoso"), "Contoso");
        assert_eq!(cell("Contoso, Ltd."), "\"Contoso, Ltd.\"");
        assert_eq!(cell("The \"best\" one"), "\"The \"\"best\"\" one\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell(""), "");
        assert_eq!(line(["a", "b,c", ""]), "a,\"b,c\",\r\n");
    }

    #[test]
    fn cells_that_could_be_formulas_are_made_inert() {
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(cell("+1 555"), "'+1 555");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\t=1"), "'\t=1");
        assert_eq!(cell("a=b"), "a=b", "only at the start");
        assert_eq!(cell("2026-01-05"), "2026-01-05", "dates stay dates");
    }

    proptest! {
        /// Whatever a cell holds, splitting the line by the quoting rules gives it back
        /// (with the guard's `'` in front where one was added).
        #[test]
        fn a_line_reads_back_cell_by_cell(cells in proptest::collection::vec("(?s)[a-z,\"=+@ -]{0,6}.{0,6}", 1..5)) {
            let text = line(&cells);
            let mut read = Vec::new();
            let mut current = String::new();
            let mut quoted = false;
            let mut chars = text.strip_suffix("\r\n").unwrap().chars().peekable();
            while let Some(c) = chars.next() {
                match (quoted, c) {
                    (true, '"') if chars.peek() == Some(&'"') => { chars.next(); current.push('"'); }
                    (true, '"') => quoted = false,
                    (false, '"') => quoted = true,
                    (false, ',') => read.push(std::mem::take(&mut current)),
                    (_, c) => current.push(c),
                }
            }
            read.push(current);
            let expected: Vec<String> = cells
                .iter()
                .map(|c| if c.starts_with(FORMULA_STARTS) { format!("'{c}") } else { c.clone() })
                .collect();
            prop_assert_eq!(read, expected);
        }
    }
}
