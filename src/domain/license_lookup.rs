//! Where an admin can check a license: the public license lookup of the issuing state's board,
//! from `data/license_lookup.tsv` (compiled in). The table is curated by hand and lists only a
//! few states whose boards' lookup pages we know; a license from any other jurisdiction has no
//! lookup ([`for_jurisdiction`] is `None`) and the queue asks the admin to check with the
//! issuing body named on the license instead.

use std::sync::LazyLock;

const DATA: &str = include_str!("../../data/license_lookup.tsv");

/// A state board's public license lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseLookup {
    /// Two-letter state code.
    pub state: String,
    pub state_name: String,
    /// The board or department that answers the lookup.
    pub board: String,
    pub url: String,
}

static LOOKUPS: LazyLock<Vec<LicenseLookup>> =
    LazyLock::new(|| parse(DATA).expect("data/license_lookup.tsv is valid"));

fn parse(data: &str) -> Result<Vec<LicenseLookup>, String> {
    let mut out = Vec::new();
    for (n, line) in data.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').map(str::trim).collect();
        if f.len() != 4 {
            return Err(format!("line {}: expected 4 fields", n + 1));
        }
        if f[0].len() != 2 || !f[0].chars().all(|c| c.is_ascii_uppercase()) {
            return Err(format!("line {}: bad state code {:?}", n + 1, f[0]));
        }
        if !f[3].starts_with("https://") {
            return Err(format!("line {}: the lookup must be https", n + 1));
        }
        out.push(LicenseLookup {
            state: f[0].to_string(),
            state_name: f[1].to_string(),
            board: f[2].to_string(),
            url: f[3].to_string(),
        });
    }
    Ok(out)
}

/// The lookup of a license's jurisdiction, given as a state code (`CO`) or a state name
/// (`Colorado`), in any letter case; `None` when the table has no lookup for it.
pub fn for_jurisdiction(jurisdiction: &str) -> Option<&'static LicenseLookup> {
    let j = jurisdiction.trim();
    LOOKUPS
        .iter()
        .find(|l| l.state.eq_ignore_ascii_case(j) || l.state_name.eq_ignore_ascii_case(j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_every_lookup_is_https_with_a_board() {
        let all = parse(DATA).unwrap();
        assert!(all.len() >= 5);
        for l in &all {
            assert!(
                l.url.starts_with("https://") && !l.board.is_empty(),
                "{l:?}"
            );
        }
        let mut codes: Vec<&str> = all.iter().map(|l| l.state.as_str()).collect();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "one row per state, sorted");
    }

    #[test]
    fn a_jurisdiction_is_found_by_code_or_name_and_a_missing_one_has_no_link() {
        assert_eq!(for_jurisdiction("co").unwrap().state, "CO");
        assert_eq!(for_jurisdiction(" Washington ").unwrap().state, "WA");
        assert!(for_jurisdiction("MA").is_none(), "not in the curated table");
        assert!(for_jurisdiction("").is_none());
    }

    #[test]
    fn a_broken_row_is_refused() {
        assert!(parse("CO\tColorado\tBoard").is_err());
        assert!(parse("co\tColorado\tBoard\thttps://x.example").is_err());
        assert!(parse("CO\tColorado\tBoard\thttp://x.example").is_err());
    }
}
