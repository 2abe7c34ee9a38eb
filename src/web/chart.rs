//! Bar charts drawn on the server: a [`BarChart`] holds the computed geometry of each bar, and
//! `templates/_chart.html` turns it into SVG (with `role="img"`, a title and a description) and
//! the same numbers as a table. The numbers come from the services; this module only lays them
//! out.

use chrono::NaiveDate;

use crate::domain::stats::WeekValue;

/// The drawing's coordinate box (it scales to the page's width; at 390 px a phone shows it at
/// about 0.85 of these units, so text stays at about 11 px).
pub const WIDTH: u32 = 400;
pub const HEIGHT: u32 = 240;
const LEFT: f64 = 8.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 46.0;
/// About how wide a character of the labels is, in the chart's units (14-unit text).
const CHAR_WIDTH: f64 = 8.0;

/// One bar, in the chart's coordinates.
#[derive(Debug, Clone)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// The middle of the bar (its labels are centred there).
    pub centre: f64,
    /// Where the value is written, just above the bar.
    pub value_y: f64,
    /// The category ("Nov 9", "Under 1 day").
    pub label: String,
    /// The value as people read it ("12", "4.5").
    pub value_text: String,
    /// The label as written under the bar: up to two lines (y, text), none when it would crowd
    /// its neighbours (then every other bar is labelled).
    pub label_lines: Vec<(f64, String)>,
    pub is_zero: bool,
}

/// A bar chart ready to draw.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Unique on the page: the prefix of the ids of its title, description and table.
    pub id: &'static str,
    pub title: String,
    /// One sentence with what the chart shows (the SVG's description).
    pub description: String,
    /// The table's column headings: the category and the value.
    pub category_heading: &'static str,
    pub value_heading: String,
    pub width: u32,
    pub height: u32,
    pub bars: Vec<Bar>,
    /// The baseline's height in the chart's coordinates.
    pub baseline: f64,
}

impl BarChart {
    /// Lays out `values` (category, value, value in words) as bars scaled to the largest value.
    pub fn new(
        id: &'static str,
        title: impl Into<String>,
        category_heading: &'static str,
        value_heading: impl Into<String>,
        values: Vec<(String, f64, String)>,
    ) -> BarChart {
        let n = values.len().max(1) as f64;
        let plot_w = WIDTH as f64 - LEFT - RIGHT;
        let plot_h = HEIGHT as f64 - TOP - BOTTOM;
        let slot = plot_w / n;
        let width = (slot * 0.7).max(1.0);
        let max = values.iter().map(|v| v.1).fold(0.0, f64::max);
        let baseline = TOP + plot_h;
        // Labels of a week ("Nov 23") are about 48 units wide: every other one when slots are
        // narrower; a longer label wraps on two lines.
        let every = if slot < 48.0 { 2 } else { 1 };
        let max_chars = ((slot * every as f64) / CHAR_WIDTH).floor().max(4.0) as usize;
        let last = values.len().saturating_sub(1);
        let bars = values
            .into_iter()
            .enumerate()
            .map(|(i, (label, value, value_text))| {
                let h = if max > 0.0 {
                    (value.max(0.0) / max * plot_h).max(if value > 0.0 { 1.0 } else { 0.0 })
                } else {
                    0.0
                };
                // A zero is drawn as a thin line on the baseline, so the week is visibly there.
                let drawn = if h == 0.0 { 2.0 } else { h };
                let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
                Bar {
                    x: round(x),
                    y: round(baseline - drawn),
                    width: round(width),
                    height: round(drawn),
                    centre: round(x + width / 2.0),
                    value_y: round(baseline - drawn - 5.0),
                    label_lines: if (last - i).is_multiple_of(every) {
                        wrap(&label, max_chars)
                            .into_iter()
                            .take(2)
                            .enumerate()
                            .map(|(k, line)| (round(baseline + 20.0 + 16.0 * k as f64), line))
                            .collect()
                    } else {
                        Vec::new()
                    },
                    label,
                    value_text,
                    is_zero: h == 0.0,
                }
            })
            .collect();
        let title = title.into();
        BarChart {
            id,
            description: String::new(),
            title,
            category_heading,
            value_heading: value_heading.into(),
            width: WIDTH,
            height: HEIGHT,
            bars,
            baseline: round(baseline),
        }
    }

    /// The description read out for the picture.
    pub fn described(mut self, description: impl Into<String>) -> BarChart {
        self.description = description.into();
        self
    }

    /// A weekly series, each week labelled by its Monday ("Nov 9").
    pub fn weekly(
        id: &'static str,
        title: impl Into<String>,
        value_heading: impl Into<String>,
        weeks: &[WeekValue],
        value: impl Fn(i64) -> (f64, String),
    ) -> BarChart {
        let values = weeks
            .iter()
            .map(|w| {
                let (v, text) = value(w.value);
                (week_label(w.week_start), v, text)
            })
            .collect();
        BarChart::new(id, title, "Week of", value_heading, values)
    }
}

/// "Nov 9": the Monday a week starts on.
pub fn week_label(monday: NaiveDate) -> String {
    monday.format("%b %-d").to_string()
}

/// The words of `label` in lines of at most `max` characters (a longer word has a line of its
/// own).
fn wrap(label: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in label.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= max => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Minutes as hours with at most one decimal ("4.5", "12").
pub fn hours_text(minutes: i64) -> String {
    let tenths = (minutes as f64 / 6.0).round() as i64;
    if tenths % 10 == 0 {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_largest_value_and_zero_is_a_thin_line() {
        let c = BarChart::new(
            "t",
            "Test",
            "Week of",
            "Count",
            vec![
                ("a".into(), 0.0, "0".into()),
                ("b".into(), 5.0, "5".into()),
                ("c".into(), 10.0, "10".into()),
            ],
        );
        let plot_h = HEIGHT as f64 - TOP - BOTTOM;
        assert_eq!(c.bars[2].height, round(plot_h));
        assert_eq!(c.bars[1].height, round(plot_h / 2.0));
        assert!(c.bars[0].is_zero && c.bars[0].height == 2.0);
        assert!(c.bars.iter().all(|b| b.y + b.height <= c.baseline + 0.01));
        assert!(c.bars[0].x < c.bars[1].x && c.bars[1].x < c.bars[2].x);
        assert!(c
            .bars
            .iter()
            .all(|b| b.x >= 0.0 && b.x + b.width <= WIDTH as f64));
    }

    #[test]
    fn twelve_weeks_label_every_other_week_ending_with_the_last() {
        let weeks: Vec<WeekValue> = (0..12)
            .map(|i| WeekValue {
                week_start: NaiveDate::from_ymd_opt(2026, 9, 7).unwrap()
                    + chrono::Duration::weeks(i),
                value: i,
            })
            .collect();
        let c = BarChart::weekly("w", "Weeks", "Count", &weeks, |v| (v as f64, v.to_string()));
        assert_eq!(c.bars[0].label, "Sep 7");
        assert_eq!(c.bars[11].label_lines.len(), 1);
        assert!(c.bars[10].label_lines.is_empty() && !c.bars[9].label_lines.is_empty());
        // Five wide slots: every label, long ones on two lines.
        let c = BarChart::new(
            "q",
            "Queue",
            "Waiting",
            "Count",
            [
                "Under 1 day",
                "1 to 2 days",
                "3 to 6 days",
                "1 to 2 weeks",
                "Over 2 weeks",
            ]
            .iter()
            .map(|l| (l.to_string(), 1.0, "1".to_string()))
            .collect(),
        );
        let lines: Vec<Vec<String>> = c
            .bars
            .iter()
            .map(|b| b.label_lines.iter().map(|l| l.1.clone()).collect())
            .collect();
        assert_eq!(lines[0], vec!["Under 1", "day"]);
        assert_eq!(lines[4], vec!["Over 2", "weeks"]);
    }

    #[test]
    fn minutes_read_as_hours() {
        assert_eq!(hours_text(0), "0");
        assert_eq!(hours_text(90), "1.5");
        assert_eq!(hours_text(600), "10");
    }
}
