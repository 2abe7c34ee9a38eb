//! Places: US cities over about 15,000 people (GeoNames, CC BY; see README), compiled in, and
//! the geometry search needs (great-circle distance, bounding boxes).

use std::sync::LazyLock;

use chrono_tz::Tz;

const DATA: &str = include_str!("../../data/us_cities.tsv");

#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub name: String,
    /// Two-letter state code.
    pub state: String,
    pub lat: f64,
    pub lon: f64,
    pub tz: Tz,
    pub population: u64,
}

impl Place {
    pub fn label(&self) -> String {
        format!("{}, {}", self.name, self.state)
    }
}

/// All places, most populous first.
pub static PLACES: LazyLock<Vec<Place>> =
    LazyLock::new(|| parse(DATA).expect("data/us_cities.tsv is valid"));

fn parse(data: &str) -> Result<Vec<Place>, String> {
    let mut out = Vec::new();
    for (n, line) in data.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 6 {
            return Err(format!("line {}: expected 6 fields", n + 1));
        }
        let num = |s: &str| {
            s.parse::<f64>()
                .map_err(|_| format!("line {}: bad number {s:?}", n + 1))
        };
        out.push(Place {
            name: f[0].to_string(),
            state: f[1].to_string(),
            lat: num(f[2])?,
            lon: num(f[3])?,
            tz: f[4]
                .parse()
                .map_err(|_| format!("line {}: bad zone {:?}", n + 1, f[4]))?,
            population: f[5]
                .parse()
                .map_err(|_| format!("line {}: bad population", n + 1))?,
        });
    }
    Ok(out)
}

/// A point on Earth, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<GeoPoint, String> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err("Latitude must be between -90 and 90.".into());
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err("Longitude must be between -180 and 180.".into());
        }
        Ok(GeoPoint { lat, lon })
    }
}

/// Where `near=` points: a place of the gazetteer, or raw coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    pub point: GeoPoint,
    /// The place's label ("Boston, MA"), or the coordinates as typed.
    pub label: String,
}

/// Parses `near`: "Boston", "boston, ma", "New York" (also finds "New York City") or "lat,lon".
/// The most populous place wins when a name is ambiguous (Springfield).
pub fn resolve_near(input: &str) -> Result<Near, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("Enter a city or coordinates.".into());
    }
    if s.chars().count() > 100 {
        return Err("A place name has at most 100 characters.".into());
    }
    if let Some((a, b)) = s.split_once(',') {
        if let (Ok(lat), Ok(lon)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
            let point = GeoPoint::new(lat, lon)?;
            return Ok(Near {
                point,
                label: format!("{lat:.4}, {lon:.4}"),
            });
        }
    }
    let (name, state) = match s.rsplit_once(',') {
        Some((n, st)) if st.trim().len() == 2 => (n.trim(), Some(st.trim().to_ascii_uppercase())),
        _ => (s, None),
    };
    find_place(name, state.as_deref())
        .map(|p| Near {
            point: GeoPoint {
                lat: p.lat,
                lon: p.lon,
            },
            label: p.label(),
        })
        .ok_or_else(|| {
            format!("We do not know the place \"{s}\". Try a nearby city, such as \"Boston, MA\".")
        })
}

/// The most populous place of that name (any letter case), optionally in a state.
pub fn find_place(name: &str, state: Option<&str>) -> Option<&'static Place> {
    let wanted = name.trim().to_lowercase();
    let with_city = format!("{wanted} city");
    let matches = |p: &&Place| state.is_none_or(|st| p.state.eq_ignore_ascii_case(st));
    PLACES
        .iter()
        .filter(matches)
        .find(|p| lower_eq(&p.name, &wanted))
        .or_else(|| {
            PLACES
                .iter()
                .filter(matches)
                .find(|p| lower_eq(&p.name, &with_city))
        })
}

/// `name.to_lowercase() == lowered`, without allocating (the gazetteer is walked per search).
fn lower_eq(name: &str, lowered: &str) -> bool {
    name.chars()
        .flat_map(char::to_lowercase)
        .eq(lowered.chars())
}

const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The country of every place in the gazetteer (`data/us_cities.tsv`): what decides the
/// distance unit when a deployment does not choose one.
pub const COUNTRY: &str = "US";

/// Kilometres in a statute mile.
pub const KM_PER_MILE: f64 = 1.609344;

/// The unit people read and type distances in (`BODYWORK_DISTANCE_UNIT`). Searches and the
/// index work in km; a unit only converts what a page shows and what its form means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistanceUnit {
    Km,
    Mi,
}

impl DistanceUnit {
    /// The unit of a country's road signs: miles in the US (and the UK, Liberia, Myanmar), km
    /// elsewhere.
    pub fn of_country(code: &str) -> DistanceUnit {
        match code.to_ascii_uppercase().as_str() {
            "US" | "GB" | "LR" | "MM" => DistanceUnit::Mi,
            _ => DistanceUnit::Km,
        }
    }

    /// `mi` or `km` (also `miles`, `kilometres`, any letter case), else None.
    pub fn parse(s: &str) -> Option<DistanceUnit> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mi" | "mile" | "miles" => Some(DistanceUnit::Mi),
            "km" | "kilometer" | "kilometers" | "kilometre" | "kilometres" => {
                Some(DistanceUnit::Km)
            }
            _ => None,
        }
    }

    /// "mi" or "km": the unit written after a number.
    pub fn symbol(self) -> &'static str {
        match self {
            DistanceUnit::Km => "km",
            DistanceUnit::Mi => "mi",
        }
    }

    /// "miles" or "km": the unit in a label ("Within (miles)").
    pub fn label(self) -> &'static str {
        match self {
            DistanceUnit::Km => "km",
            DistanceUnit::Mi => "miles",
        }
    }

    /// A distance in km, in this unit.
    pub fn of_km(self, km: f64) -> f64 {
        match self {
            DistanceUnit::Km => km,
            DistanceUnit::Mi => km / KM_PER_MILE,
        }
    }

    /// A distance in this unit, in km.
    pub fn to_km(self, v: f64) -> f64 {
        match self {
            DistanceUnit::Km => v,
            DistanceUnit::Mi => v * KM_PER_MILE,
        }
    }
}

/// Great-circle distance in km (haversine).
pub fn distance_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// The point on the unit sphere: the straight-line (chord) distance between two of these
/// orders points exactly as the great-circle distance does, without a sine per comparison.
pub fn unit_vector(p: GeoPoint) -> [f64; 3] {
    let (lat, lon) = (p.lat.to_radians(), p.lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// The squared chord between two unit vectors.
pub fn chord2(a: [f64; 3], b: [f64; 3]) -> f64 {
    let (x, y, z) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    x * x + y * y + z * z
}

/// The squared chord of a great-circle distance: a point is within `km` of another exactly
/// when the squared chord between them is at most this.
pub fn chord2_of_km(km: f64) -> f64 {
    let c = 2.0
        * (km / (2.0 * EARTH_RADIUS_KM))
            .min(std::f64::consts::FRAC_PI_2)
            .sin();
    c * c
}

/// The great-circle distance of a squared chord (the inverse of [`chord2_of_km`]).
pub fn km_of_chord2(c2: f64) -> f64 {
    2.0 * EARTH_RADIUS_KM * (c2.max(0.0).sqrt() / 2.0).min(1.0).asin()
}

/// A latitude/longitude box that contains every point within `radius_km` of `c`
/// (the index prefilter; the exact distance decides).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

pub fn bounding_box(c: GeoPoint, radius_km: f64) -> BoundingBox {
    let dlat = (radius_km / EARTH_RADIUS_KM).to_degrees();
    let min_lat = (c.lat - dlat).max(-90.0);
    let max_lat = (c.lat + dlat).min(90.0);
    let max_abs_lat = min_lat.abs().max(max_lat.abs());
    let (min_lon, max_lon) = if max_abs_lat >= 89.9 {
        (-180.0, 180.0)
    } else {
        let dlon = (radius_km / (EARTH_RADIUS_KM * max_abs_lat.to_radians().cos())).to_degrees();
        if dlon >= 180.0 {
            (-180.0, 180.0)
        } else {
            ((c.lon - dlon).max(-180.0), (c.lon + dlon).min(180.0))
        }
    };
    BoundingBox {
        min_lat,
        max_lat,
        min_lon,
        max_lon,
    }
}

/// Grid cells per degree (a cell is half a degree: about 55 km north-south).
const CELLS_PER_DEGREE: f64 = 2.0;

/// The grid cell of a point: an integer that an ordinary index can find.
pub fn geo_cell(p: GeoPoint) -> i32 {
    let lat = (p.lat.clamp(-90.0, 90.0) * CELLS_PER_DEGREE).floor() as i32 + 180;
    let lon = (p.lon.clamp(-180.0, 180.0) * CELLS_PER_DEGREE).floor() as i32 + 360;
    lat * 1000 + lon
}

/// Every cell that a bounding box touches.
pub fn cells_of(b: &BoundingBox) -> Vec<i32> {
    let lat0 = (b.min_lat * CELLS_PER_DEGREE).floor() as i32;
    let lat1 = (b.max_lat * CELLS_PER_DEGREE).floor() as i32;
    let lon0 = (b.min_lon * CELLS_PER_DEGREE).floor() as i32;
    let lon1 = (b.max_lon * CELLS_PER_DEGREE).floor() as i32;
    let mut out = Vec::new();
    for la in lat0..=lat1 {
        for lo in lon0..=lon1 {
            out.push((la + 180) * 1000 + lo + 360);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_gazetteer_s_country_reads_miles_and_units_convert() {
        assert_eq!(DistanceUnit::of_country(COUNTRY), DistanceUnit::Mi);
        assert_eq!(DistanceUnit::of_country("fr"), DistanceUnit::Km);
        assert_eq!(DistanceUnit::parse(" MI "), Some(DistanceUnit::Mi));
        assert_eq!(DistanceUnit::parse("kilometres"), Some(DistanceUnit::Km));
        assert_eq!(DistanceUnit::parse("furlongs"), None);
        assert!((DistanceUnit::Mi.to_km(10.0) - 16.09344).abs() < 1e-9);
        assert!((DistanceUnit::Mi.of_km(16.09344) - 10.0).abs() < 1e-9);
        assert_eq!(DistanceUnit::Km.of_km(7.5), 7.5);
    }

    #[test]
    fn the_cells_of_a_box_contain_the_cell_of_every_point_inside() {
        let c = GeoPoint {
            lat: 40.71,
            lon: -74.0,
        };
        let b = bounding_box(c, 25.0);
        let cells = cells_of(&b);
        assert!(cells.len() <= 9, "{}", cells.len());
        for (dlat, dlon) in [(0.0, 0.0), (0.2, 0.25), (-0.2, -0.29), (0.22, -0.29)] {
            let p = GeoPoint {
                lat: c.lat + dlat,
                lon: c.lon + dlon,
            };
            assert!(cells.contains(&geo_cell(p)), "{p:?}");
        }
        assert_ne!(
            geo_cell(GeoPoint {
                lat: -0.1,
                lon: 0.0
            }),
            geo_cell(GeoPoint { lat: 0.1, lon: 0.0 })
        );
    }

    use super::*;

    proptest::proptest! {
        /// The chord decides "within the radius" and "nearer" as the great-circle distance does
        /// (away from a hair's breadth of floating-point rounding).
        #[test]
        fn the_chord_agrees_with_the_great_circle_distance(
            lat in -60.0f64..70.0, lon in -170.0f64..170.0,
            p in (-2.0f64..2.0, -2.0f64..2.0), q in (-2.0f64..2.0, -2.0f64..2.0),
            radius in 1.0f64..500.0,
        ) {
            let c = GeoPoint { lat, lon };
            let a = GeoPoint { lat: lat + p.0, lon: lon + p.1 };
            let b = GeoPoint { lat: lat + q.0, lon: lon + q.1 };
            let (da, db) = (distance_km(c, a), distance_km(c, b));
            let (ca, cb) = (chord2(unit_vector(c), unit_vector(a)), chord2(unit_vector(c), unit_vector(b)));
            if (da - db).abs() > 1e-6 {
                proptest::prop_assert_eq!(da < db, ca < cb);
            }
            if (da - radius).abs() > 1e-6 {
                proptest::prop_assert_eq!(da <= radius, ca <= chord2_of_km(radius));
            }
            proptest::prop_assert!((km_of_chord2(ca) - da).abs() < 1e-6, "{} {}", km_of_chord2(ca), da);
        }
    }

    #[test]
    fn the_data_file_parses_and_holds_the_big_cities() {
        assert!(PLACES.len() > 3000);
        let boston = find_place("boston", None).unwrap();
        assert_eq!(boston.state, "MA");
        assert_eq!(boston.tz, chrono_tz::America::New_York);
        assert_eq!(
            find_place("Denver", None).unwrap().tz,
            chrono_tz::America::Denver
        );
    }

    #[test]
    fn near_accepts_names_states_aliases_and_coordinates() {
        assert_eq!(resolve_near("Boston, MA").unwrap().label, "Boston, MA");
        assert_eq!(resolve_near("  BOSTON ").unwrap().label, "Boston, MA");
        assert_eq!(resolve_near("New York").unwrap().label, "New York City, NY");
        assert_eq!(
            resolve_near("Springfield, IL").unwrap().label,
            "Springfield, IL"
        );
        let p = resolve_near("42.36, -71.06").unwrap();
        assert_eq!(
            p.point,
            GeoPoint {
                lat: 42.36,
                lon: -71.06
            }
        );
        assert!(resolve_near("Atlantis").unwrap_err().contains("Atlantis"));
        assert!(resolve_near("123, 45").unwrap_err().contains("Latitude"));
        assert!(resolve_near("12, 200").unwrap_err().contains("Longitude"));
    }

    #[test]
    fn distances_are_great_circle_km() {
        let boston = GeoPoint {
            lat: 42.3584,
            lon: -71.0598,
        };
        let nyc = GeoPoint {
            lat: 40.7143,
            lon: -74.006,
        };
        let d = distance_km(boston, nyc);
        assert!((d - 306.0).abs() < 3.0, "{d}");
        assert_eq!(distance_km(boston, boston), 0.0);
    }

    #[test]
    fn the_bounding_box_contains_the_circle() {
        let c = GeoPoint {
            lat: 47.6,
            lon: -122.3,
        };
        let b = bounding_box(c, 50.0);
        for bearing in 0..360 {
            let t = (bearing as f64).to_radians();
            // A point about 49.9 km away in every direction.
            let dlat = (49.9 / EARTH_RADIUS_KM).to_degrees() * t.cos();
            let dlon = (49.9 / (EARTH_RADIUS_KM * c.lat.to_radians().cos())).to_degrees() * t.sin();
            let p = GeoPoint {
                lat: c.lat + dlat,
                lon: c.lon + dlon,
            };
            assert!(
                p.lat >= b.min_lat
                    && p.lat <= b.max_lat
                    && p.lon >= b.min_lon
                    && p.lon <= b.max_lon
            );
        }
    }
}
