//! Result tables for a terminal, as `xsv table` and the DuckDB shell print them: aligned
//! columns, numbers to the right, rates as percentages, long text cut with `…`, and no line
//! wider than the terminal — columns that do not fit are left out and named at the foot, with
//! how to see them (`--all`, `--columns`).

use polars::prelude::*;

/// How a table is laid out.
#[derive(Debug, Clone, Default)]
pub(super) struct Layout {
    /// The widest a line may be (the terminal's width); `None`: no limit.
    pub max_width: Option<usize>,
    /// Rates, shares and changes (by column name) as percentages and points.
    pub percent: bool,
    /// The longest a text cell is shown before it is cut.
    pub max_cell: usize,
}

/// How one float column is shown, by its name.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FloatStyle {
    /// `88.2 %`
    Percent,
    /// `+1.3 pts`
    Points,
    /// `0.0123`
    Plain,
}

fn float_style(name: &str, percent: bool) -> FloatStyle {
    if !percent {
        return FloatStyle::Plain;
    }
    let rate = name.ends_with("_rate")
        || name.ends_with("_rate_lo")
        || name.ends_with("_rate_hi")
        || name.starts_with("share_of_");
    if rate {
        FloatStyle::Percent
    } else if name == "change" || name == "retry_uplift" {
        FloatStyle::Points
    } else {
        FloatStyle::Plain
    }
}

fn float_text(v: f64, style: FloatStyle) -> String {
    match style {
        FloatStyle::Percent => format!("{:.1} %", v * 100.0),
        FloatStyle::Points => format!("{:+.1} pts", v * 100.0),
        FloatStyle::Plain if v != 0.0 && v.abs() < 0.0001 => format!("{v:.2e}"),
        FloatStyle::Plain => format!("{v:.4}"),
    }
}

/// `text` cut to `max` characters, the last one `…`.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// The table as text, ending with a line that counts the rows (and names the columns left out).
pub(super) fn render(df: &DataFrame, layout: &Layout) -> String {
    let columns = df.columns();
    let max_cell = if layout.max_cell == 0 {
        usize::MAX
    } else {
        layout.max_cell
    };
    let numeric: Vec<bool> = columns
        .iter()
        .map(|c| c.dtype().is_primitive_numeric() || c.dtype().is_decimal())
        .collect();
    let styles: Vec<FloatStyle> = columns
        .iter()
        .map(|c| float_style(c.name(), layout.percent))
        .collect();
    let mut cells: Vec<Vec<String>> = vec![columns.iter().map(|c| c.name().to_string()).collect()];
    for i in 0..df.height() {
        cells.push(
            columns
                .iter()
                .enumerate()
                .map(|(k, c)| match c.get(i) {
                    Ok(AnyValue::Float64(v)) => float_text(v, styles[k]),
                    Ok(AnyValue::Float32(v)) => float_text(v as f64, styles[k]),
                    Ok(v) => cut(
                        &crate::query::cell_text(&v)
                            .unwrap_or_default()
                            .replace(['\n', '\r', '\t'], " "),
                        max_cell,
                    ),
                    Err(_) => String::new(),
                })
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..columns.len())
        .map(|k| {
            cells
                .iter()
                .map(|r| r[k].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    // The columns that fit, from the left; the first always shows.
    let mut shown = columns.len();
    if let Some(max) = layout.max_width {
        let mut used = 0;
        for (k, w) in widths.iter().enumerate() {
            let need = if k == 0 { *w } else { used + 2 + w };
            if k > 0 && need > max {
                shown = k;
                break;
            }
            used = need;
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: &[String]| {
        let parts: Vec<String> = row[..shown]
            .iter()
            .enumerate()
            .map(|(k, v)| {
                if numeric[k] {
                    format!("{v:>w$}", w = widths[k])
                } else {
                    format!("{v:<w$}", w = widths[k])
                }
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut out, &cells[0]);
    let rule: Vec<String> = widths[..shown].iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&rule.join("  "));
    out.push('\n');
    for row in &cells[1..] {
        line(&mut out, row);
    }
    let rows = df.height();
    out.push_str(&format!("({rows} row{}", if rows == 1 { "" } else { "s" }));
    let hidden = &cells[0][shown..];
    if !hidden.is_empty() {
        let head = format!(
            "; {} more column{} (--all, --columns): ",
            hidden.len(),
            if hidden.len() == 1 { "" } else { "s" },
        );
        let names = hidden.join(", ");
        let used = out.len() - out.rfind('\n').map_or(0, |i| i + 1) + head.len() + 1;
        let room = layout
            .max_width
            .unwrap_or(usize::MAX)
            .saturating_sub(used)
            .max(12);
        out.push_str(&head);
        out.push_str(&cut(&names, room));
    }
    out.push_str(")\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn df() -> DataFrame {
        df!(
            "country" => ["DE", "US"],
            "attempts" => [120u64, 7],
            "approval_rate" => [0.88194, 1.0],
            "change" => [0.0126, -0.5],
            "note" => ["a very long piece of text that goes on", "x"],
        )
        .unwrap()
    }

    #[test]
    fn rates_as_percent_and_points() {
        let text = render(
            &df(),
            &Layout {
                percent: true,
                ..Layout::default()
            },
        );
        assert!(text.contains("88.2 %"), "{text}");
        assert!(text.contains("100.0 %"));
        assert!(text.contains("+1.3 pts"));
        assert!(text.contains("-50.0 pts"));
        assert!(text.ends_with("(2 rows)\n"));
    }

    #[test]
    fn lines_fit_the_width_and_name_what_is_left_out() {
        let text = render(
            &df(),
            &Layout {
                max_width: Some(32),
                percent: true,
                max_cell: 20,
            },
        );
        for line in text.lines().take(4) {
            assert!(line.chars().count() <= 32, "{line:?}");
        }
        assert!(
            text.contains("2 more columns (--all, --columns): change, note)"),
            "{text}"
        );
    }

    #[test]
    fn long_text_is_cut_and_one_row_is_singular() {
        let df = df!("note" => ["abcdefghijklmnopqrstuvwxyz"]).unwrap();
        let text = render(
            &df,
            &Layout {
                max_cell: 10,
                ..Layout::default()
            },
        );
        assert!(text.contains("abcdefghi…"), "{text}");
        assert!(text.ends_with("(1 row)\n"));
    }
}
