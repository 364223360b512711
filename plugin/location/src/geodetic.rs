//! WGS 84 geodetic shapes as RFC 5491 §5 profiles them.
//!
//! RFC 5491 §4 (<https://www.rfc-editor.org/rfc/rfc5491#section-4>) allows two
//! coordinate reference systems: EPSG 4326 (2D, latitude then longitude) and
//! EPSG 4979 (3D, latitude, longitude, altitude in metres). This crate writes
//! the two shapes an E9-1-1 location needs, the Point (§5.2.1) and the Circle
//! (§5.2.3); it reads the other RFC 5491 shapes as an [`OtherShape`] with a
//! reference point so a lenient reader never throws a usable position away.

/// `srsName` of the 2D WGS 84 CRS (RFC 5491 §4).
pub const SRS_2D: &str = "urn:ogc:def:crs:EPSG::4326";
/// `srsName` of the 3D WGS 84 CRS (RFC 5491 §4).
pub const SRS_3D: &str = "urn:ogc:def:crs:EPSG::4979";
/// `uom` of the metre (RFC 5491 §5.2.3: "the radius ... in metres").
pub const UOM_METRE: &str = "urn:ogc:def:uom:EPSG::9001";

/// A WGS 84 point: `gml:Point` (RFC 5491 §5.2.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Degrees north, -90 to 90.
    pub latitude: f64,
    /// Degrees east, -180 to 180.
    pub longitude: f64,
    /// Metres above the WGS 84 ellipsoid; present makes the point 3D (EPSG 4979).
    pub altitude: Option<f64>,
}

impl Point {
    /// A 2D point.
    pub const fn new(latitude: f64, longitude: f64) -> Self {
        Self {
            latitude,
            longitude,
            altitude: None,
        }
    }

    /// The same point with an altitude (3D, EPSG 4979).
    #[must_use]
    pub const fn with_altitude(mut self, altitude: f64) -> Self {
        self.altitude = Some(altitude);
        self
    }

    /// Checks the ranges: finite, |latitude| ≤ 90, |longitude| ≤ 180.
    pub fn check(&self) -> Result<(), ShapeError> {
        check_lat_lon(self.latitude, self.longitude)?;
        match self.altitude {
            Some(a) if !a.is_finite() => Err(ShapeError::Altitude),
            _ => Ok(()),
        }
    }
}

/// A circle on the WGS 84 ellipsoid: `gs:Circle` (RFC 5491 §5.2.3), 2D.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Circle {
    /// Centre, degrees north.
    pub latitude: f64,
    /// Centre, degrees east.
    pub longitude: f64,
    /// Radius in metres; positive.
    pub radius_m: f64,
}

impl Circle {
    /// A circle of `radius_m` metres around a 2D centre.
    pub const fn new(latitude: f64, longitude: f64, radius_m: f64) -> Self {
        Self {
            latitude,
            longitude,
            radius_m,
        }
    }

    /// Checks the centre's ranges and that the radius is finite and positive.
    pub fn check(&self) -> Result<(), ShapeError> {
        check_lat_lon(self.latitude, self.longitude)?;
        if self.radius_m.is_finite() && self.radius_m > 0.0 {
            Ok(())
        } else {
            Err(ShapeError::Radius)
        }
    }
}

/// An RFC 5491 shape this crate reads but does not write (Polygon, Ellipse,
/// ArcBand, Sphere, Ellipsoid, Prism), or a Circle in a unit it does not know.
#[derive(Clone, Debug, PartialEq)]
pub struct OtherShape {
    /// The element's local name, e.g. `Polygon`.
    pub kind: String,
    /// The centre for centred shapes, the mean of the vertices for polygons
    /// and prisms; `None` when no usable coordinate was found.
    pub reference: Option<Point>,
}

/// A geodetic location.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// `gml:Point`.
    Point(Point),
    /// `gs:Circle`.
    Circle(Circle),
    /// Any other shape; read only.
    Other(OtherShape),
}

impl Shape {
    /// One point that stands for the shape: the point itself, the circle's
    /// centre, or the other shape's reference point.
    pub fn reference_point(&self) -> Option<Point> {
        match self {
            Self::Point(p) => Some(*p),
            Self::Circle(c) => Some(Point::new(c.latitude, c.longitude)),
            Self::Other(o) => o.reference,
        }
    }
}

/// Why a shape cannot be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// Latitude not finite or outside -90..=90.
    Latitude,
    /// Longitude not finite or outside -180..=180.
    Longitude,
    /// Altitude not finite.
    Altitude,
    /// Radius not finite or not positive.
    Radius,
    /// Only Point and Circle are written.
    Unsupported,
}

impl core::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Latitude => "latitude is not a number between -90 and 90",
            Self::Longitude => "longitude is not a number between -180 and 180",
            Self::Altitude => "altitude is not a finite number",
            Self::Radius => "radius is not a positive finite number of metres",
            Self::Unsupported => "only Point and Circle shapes can be written",
        })
    }
}

fn check_lat_lon(latitude: f64, longitude: f64) -> Result<(), ShapeError> {
    if !(latitude.is_finite() && (-90.0..=90.0).contains(&latitude)) {
        return Err(ShapeError::Latitude);
    }
    if !(longitude.is_finite() && (-180.0..=180.0).contains(&longitude)) {
        return Err(ShapeError::Longitude);
    }
    Ok(())
}

/// The CRS a `srsName` names, as far as this crate cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Crs {
    /// EPSG 4326.
    Wgs84TwoD,
    /// EPSG 4979.
    Wgs84ThreeD,
}

impl Crs {
    /// Reads a `srsName`. RFC 5491 §4 mandates the two URNs above; older
    /// documents (RFC 4119's own example) write `epsg:4326`, and some omit the
    /// attribute, which RFC 5491 §4's WGS 84 mandate lets us read as 2D.
    /// Anything else (e.g. a relative-location CRS) is not WGS 84: `None`.
    pub(crate) fn from_srs_name(srs_name: Option<&str>) -> Option<Self> {
        let Some(name) = srs_name else {
            return Some(Self::Wgs84TwoD);
        };
        let code = name.trim().rsplit([':', '#', '/']).next().unwrap_or("");
        let epsg = name.to_ascii_lowercase().contains("epsg");
        match code {
            "4326" if epsg => Some(Self::Wgs84TwoD),
            "4979" if epsg => Some(Self::Wgs84ThreeD),
            _ => None,
        }
    }
}

/// Parses a `gml:pos`/`gml:posList` into numbers. Lenient: commas count as
/// separators, because real documents write `lat, lon` (the schema wants
/// whitespace only). Any token that is not a finite number spoils the list.
pub(crate) fn parse_numbers(text: &str) -> Option<Vec<f64>> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect()
}

/// Reads one position: 2 numbers, or 3 with an altitude. A third number in a
/// 2D CRS is kept as altitude: the sender meant it, and it helps dispatch.
pub(crate) fn parse_pos(text: &str) -> Option<Point> {
    let numbers = parse_numbers(text)?;
    let point = match numbers.as_slice() {
        [lat, lon] => Point::new(*lat, *lon),
        [lat, lon, alt] => Point::new(*lat, *lon).with_altitude(*alt),
        _ => return None,
    };
    point.check().ok().map(|()| point)
}

/// Reads a position list in the CRS's dimension into points.
pub(crate) fn parse_pos_list(text: &str, crs: Crs) -> Option<Vec<Point>> {
    let numbers = parse_numbers(text)?;
    let dim = match crs {
        Crs::Wgs84TwoD => 2,
        Crs::Wgs84ThreeD => 3,
    };
    if numbers.is_empty() || numbers.len() % dim != 0 {
        return None;
    }
    numbers
        .chunks(dim)
        .map(|c| match c {
            [lat, lon] => Some(Point::new(*lat, *lon)),
            [lat, lon, alt] => Some(Point::new(*lat, *lon).with_altitude(*alt)),
            _ => None,
        })
        .map(|p| p.filter(|p| p.check().is_ok()))
        .collect()
}

/// Reads RFC 4119's GML 3.0 `gml:coordinates`, e.g. `37:46:30N 122:25:10W`
/// (RFC 4119 §2.2.1's geodetic example), or plain decimal `lat,lon`.
pub(crate) fn parse_coordinates(text: &str) -> Option<Point> {
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    let [first, second] = tokens.as_slice() else {
        return None;
    };
    let (lat, lon) = match (parse_angle(first)?, parse_angle(second)?) {
        // Written longitude first: swap when the hemispheres say so.
        ((lon, Some(Axis::EastWest)), (lat, Some(Axis::NorthSouth))) => (lat, lon),
        ((lat, _), (lon, _)) => (lat, lon),
    };
    let point = Point::new(lat, lon);
    point.check().ok().map(|()| point)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Axis {
    NorthSouth,
    EastWest,
}

/// `DD[:MM[:SS.s]][NSEW]` or a signed decimal.
fn parse_angle(token: &str) -> Option<(f64, Option<Axis>)> {
    let (sign, axis) = match token.chars().last()?.to_ascii_uppercase() {
        'N' => (1.0, Some(Axis::NorthSouth)),
        'S' => (-1.0, Some(Axis::NorthSouth)),
        'E' => (1.0, Some(Axis::EastWest)),
        'W' => (-1.0, Some(Axis::EastWest)),
        _ => (1.0, None),
    };
    // The hemisphere letter is ASCII, so dropping one byte keeps a char boundary.
    let body = if axis.is_some() {
        token.get(..token.len().saturating_sub(1))?
    } else {
        token
    };
    let mut value = 0.0;
    let mut scale = 1.0;
    for part in body.split(':').take(4) {
        let n: f64 = part.parse().ok().filter(|v: &f64| v.is_finite())?;
        value += n.abs() / scale;
        scale *= 60.0;
    }
    let negative = body.starts_with('-');
    let value = if negative { -value } else { value };
    Some((value * sign, axis))
}

/// The arithmetic mean of points, dropping a closing vertex that repeats the
/// first (GML rings are closed). Good enough as a reference point for the
/// building-sized polygons of emergency locations; not across the antimeridian.
pub(crate) fn mean_point(points: &[Point]) -> Option<Point> {
    let open = match points {
        [first, rest @ .., last] if !rest.is_empty() && first == last => {
            points.get(..points.len() - 1)?
        }
        _ => points,
    };
    if open.is_empty() {
        return None;
    }
    let n = open.len() as f64;
    let lat = open.iter().map(|p| p.latitude).sum::<f64>() / n;
    let lon = open.iter().map(|p| p.longitude).sum::<f64>() / n;
    let alts: Vec<f64> = open.iter().filter_map(|p| p.altitude).collect();
    let point = Point::new(lat, lon);
    Some(if alts.len() == open.len() {
        point.with_altitude(alts.iter().sum::<f64>() / n)
    } else {
        point
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_check_rejects_out_of_range_and_non_finite() {
        assert!(Point::new(47.6, -122.1).check().is_ok());
        assert_eq!(Point::new(90.5, 0.0).check(), Err(ShapeError::Latitude));
        assert_eq!(Point::new(0.0, 180.5).check(), Err(ShapeError::Longitude));
        assert_eq!(Point::new(f64::NAN, 0.0).check(), Err(ShapeError::Latitude));
        assert_eq!(
            Point::new(0.0, 0.0).with_altitude(f64::INFINITY).check(),
            Err(ShapeError::Altitude)
        );
    }

    #[test]
    fn circle_check_wants_a_positive_radius() {
        assert!(Circle::new(1.0, 2.0, 30.0).check().is_ok());
        assert_eq!(Circle::new(1.0, 2.0, 0.0).check(), Err(ShapeError::Radius));
        assert_eq!(
            Circle::new(1.0, 2.0, f64::NAN).check(),
            Err(ShapeError::Radius)
        );
    }

    #[test]
    fn srs_names_of_rfc_5491_and_rfc_4119_are_understood() {
        assert_eq!(Crs::from_srs_name(Some(SRS_2D)), Some(Crs::Wgs84TwoD));
        assert_eq!(Crs::from_srs_name(Some(SRS_3D)), Some(Crs::Wgs84ThreeD));
        assert_eq!(Crs::from_srs_name(Some("epsg:4326")), Some(Crs::Wgs84TwoD));
        assert_eq!(Crs::from_srs_name(None), Some(Crs::Wgs84TwoD));
        assert_eq!(
            Crs::from_srs_name(Some("urn:ietf:params:geopriv:relative:2d")),
            None
        );
    }

    #[test]
    fn pos_accepts_two_or_three_numbers_and_commas() {
        assert_eq!(
            parse_pos("-34.407 150.883"),
            Some(Point::new(-34.407, 150.883))
        );
        assert_eq!(
            parse_pos(" -34.407\n150.883 24.8 "),
            Some(Point::new(-34.407, 150.883).with_altitude(24.8))
        );
        assert_eq!(
            parse_pos("-34.407,150.883"),
            Some(Point::new(-34.407, 150.883))
        );
        assert_eq!(
            parse_pos("-63.18, -56.64"),
            Some(Point::new(-63.18, -56.64))
        );
        assert_eq!(parse_pos("0 0 xxxxxxx"), None);
        assert_eq!(parse_pos("1"), None);
        assert_eq!(parse_pos("95 0"), None);
        assert_eq!(parse_pos("NaN 0"), None);
    }

    #[test]
    fn pos_list_splits_by_dimension() {
        let two = parse_pos_list("1 2 3 4", Crs::Wgs84TwoD).unwrap();
        assert_eq!(two, vec![Point::new(1.0, 2.0), Point::new(3.0, 4.0)]);
        let three = parse_pos_list("1 2 3 4 5 6", Crs::Wgs84ThreeD).unwrap();
        assert_eq!(three.len(), 2);
        assert_eq!(parse_pos_list("1 2 3", Crs::Wgs84TwoD), None);
    }

    #[test]
    fn rfc_4119_dms_coordinates_become_decimal_degrees() {
        let p = parse_coordinates("37:46:30N 122:25:10W").unwrap();
        assert!((p.latitude - 37.775).abs() < 1e-9);
        assert!((p.longitude - -122.419_444_444).abs() < 1e-6);
        let swapped = parse_coordinates("122:25:10W 37:46:30N").unwrap();
        assert_eq!(swapped, p);
        assert_eq!(parse_coordinates("1.5,2.5"), Some(Point::new(1.5, 2.5)));
        assert_eq!(parse_coordinates("37:xx:30N 1W"), None);
        assert_eq!(parse_coordinates("N W"), None);
    }

    #[test]
    fn mean_point_ignores_the_closing_vertex() {
        let ring = [
            Point::new(0.0, 0.0),
            Point::new(0.0, 2.0),
            Point::new(2.0, 2.0),
            Point::new(2.0, 0.0),
            Point::new(0.0, 0.0),
        ];
        assert_eq!(mean_point(&ring), Some(Point::new(1.0, 1.0)));
        assert_eq!(mean_point(&[]), None);
    }

    #[test]
    fn reference_point_of_a_circle_is_its_centre() {
        let c = Shape::Circle(Circle::new(1.0, 2.0, 3.0));
        assert_eq!(c.reference_point(), Some(Point::new(1.0, 2.0)));
    }
}
