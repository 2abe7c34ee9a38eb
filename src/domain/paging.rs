//! Paging of every list, pages and API alike: one parser, one policy.

use crate::domain::FieldErrors;

/// `per_page` when none is given.
pub const DEFAULT_PER_PAGE: i64 = 20;
/// The largest `per_page`.
pub const MAX_PER_PAGE: i64 = 100;
/// The largest `page`.
pub const MAX_PAGE: i64 = 100_000;

/// `?page=&per_page=` as typed (text, so that a bad value is a message next to its field).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PageQuery {
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// A valid page: `page` from 1 to [`MAX_PAGE`], `per_page` from 1 to [`MAX_PER_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl Page {
    /// Parses `page` and `per_page` (blank means the default), adding a message per bad value to
    /// `errors` (fields `page` and `per_page`); a bad value is replaced by its default.
    pub fn parse_into(
        page: Option<&str>,
        per_page: Option<&str>,
        errors: &mut FieldErrors,
    ) -> Page {
        let page = match blank(page) {
            None => 1,
            Some(s) => match s.parse::<i64>() {
                Ok(p) if (1..=MAX_PAGE).contains(&p) => p,
                _ => {
                    errors.insert(
                        "page".into(),
                        format!("The page is a whole number from 1 to {MAX_PAGE}."),
                    );
                    1
                }
            },
        };
        let per_page = match blank(per_page) {
            None => DEFAULT_PER_PAGE,
            Some(s) => match s.parse::<i64>() {
                Ok(p) if (1..=MAX_PER_PAGE).contains(&p) => p,
                _ => {
                    errors.insert(
                        "per_page".into(),
                        format!("Results per page is a whole number from 1 to {MAX_PER_PAGE}."),
                    );
                    DEFAULT_PER_PAGE
                }
            },
        };
        Page { page, per_page }
    }

    /// The rows before this page.
    pub fn offset(self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

impl PageQuery {
    /// The page asked for, or a message per bad field.
    pub fn parse(&self) -> Result<Page, FieldErrors> {
        let mut errors = FieldErrors::new();
        let page = Page::parse_into(self.page.as_deref(), self.per_page.as_deref(), &mut errors);
        if errors.is_empty() {
            Ok(page)
        } else {
            Err(errors)
        }
    }
}

fn blank(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Page, FieldErrors> {
        PageQuery {
            page: page.map(String::from),
            per_page: per_page.map(String::from),
        }
        .parse()
    }

    #[test]
    fn defaults_bounds_and_messages() {
        assert_eq!(parse(None, None), Ok(Page::default()));
        assert_eq!(
            parse(Some(" 3 "), Some("")),
            Ok(Page {
                page: 3,
                per_page: 20
            })
        );
        assert_eq!(
            parse(Some("100000"), Some("100")),
            Ok(Page {
                page: 100_000,
                per_page: 100
            })
        );
        for bad in ["0", "-1", "100001", "x", "1.5"] {
            let e = parse(Some(bad), None).unwrap_err();
            assert_eq!(e.keys().collect::<Vec<_>>(), ["page"], "{bad}");
        }
        for bad in ["0", "101", "lots"] {
            let e = parse(None, Some(bad)).unwrap_err();
            assert_eq!(e.keys().collect::<Vec<_>>(), ["per_page"], "{bad}");
        }
        assert_eq!(parse(Some("0"), Some("0")).unwrap_err().len(), 2);
        assert_eq!(
            Page {
                page: 3,
                per_page: 20
            }
            .offset(),
            40
        );
    }
}
