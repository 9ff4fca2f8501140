//! 12345 tickets: the category mix by season and hour, the daily rhythm of the hotline,
//! Chinese texts from the simulator's own templates ([`crate::vocab`]), addresses on the
//! street's real roads with made-up house numbers, and repeat callers.

use cityops_core::catalogue::Catalogue;
use cityops_geo::Geography;
use std::collections::VecDeque;

use crate::item::Ticket;
use crate::rng::Rng;
use crate::time::{local_hour, yyyymmdd, Season};
use crate::vocab::{self, CategoryTexts, CATEGORIES};
use crate::world::{Address, Places, Spot};

/// How busy the hotline is by local hour, relative to the day's mean (1.0): quiet at night,
/// a morning peak from 8 to 11, a lunch dip, the afternoon, an evening peak from 19 to 21.
pub const RHYTHM: [f64; 24] = [
    0.25, 0.15, 0.1, 0.1, 0.12, 0.2, 0.45, 0.95, 1.6, 1.9, 1.85, 1.5, 1.05, 1.3, 1.55, 1.55, 1.45,
    1.3, 1.35, 1.6, 1.5, 1.1, 0.7, 0.4,
];

/// The hotline's relative intensity at `at_ms` (mean 1 over a day), interpolated by minute.
pub fn rhythm(at_ms: i64) -> f64 {
    let h = local_hour(at_ms);
    let i = h.floor() as usize % 24;
    let frac = h - h.floor();
    let mean = RHYTHM.iter().sum::<f64>() / 24.0;
    (RHYTHM[i] * (1.0 - frac) + RHYTHM[(i + 1) % 24] * frac) / mean
}

/// How a category's share moves with the hour: construction noise and barbecue stalls at
/// night, cold homes in the early morning and evening, parking at rush hours; emergencies
/// keep coming at night when everything else is quiet.
pub fn hour_tilt(category: &str, hour: f64) -> f64 {
    let in_range = |a: f64, b: f64| {
        if a <= b {
            hour >= a && hour < b
        } else {
            hour >= a || hour < b
        }
    };
    match category {
        "noise" if in_range(21.0, 2.0) => 3.0,
        "street_vendor" if in_range(17.0, 22.0) => 2.0,
        "heating" if in_range(5.0, 9.0) || in_range(18.0, 23.0) => 1.5,
        "illegal_parking" | "fire_lane_blocked" if in_range(7.0, 10.0) || in_range(17.0, 20.0) => {
            1.6
        }
        "medical_emergency" | "fire" | "gas_leak" | "fall_alarm" if in_range(22.0, 7.0) => 3.0,
        "consultation" | "enterprise_service" | "hospital_service" if in_range(18.0, 8.0) => 0.3,
        "streetlight" if in_range(17.0, 6.0) => 1.8,
        _ => 1.0,
    }
}

fn season_index(season: Season) -> usize {
    match season {
        Season::Heating => 0,
        Season::Spring => 1,
        Season::Summer => 2,
        Season::Autumn => 3,
    }
}

/// The share of each category's calls at `at_ms`, over `categories` (indices into
/// [`CATEGORIES`]).
pub fn category_weights(categories: &[usize], at_ms: i64) -> Vec<f64> {
    let season = season_index(Season::of(at_ms));
    let hour = local_hour(at_ms);
    categories
        .iter()
        .map(|&i| {
            let c = &CATEGORIES[i];
            c.weight * c.season[season] * hour_tilt(c.category, hour)
        })
        .collect()
}

/// Fills a template's slots.
pub fn render(template: &str, ctx: &Context, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let slot = &after[..close];
        match slot {
            "loc" => out.push_str(&ctx.loc),
            "road" => out.push_str(&ctx.road),
            "comm" => out.push_str(&ctx.community),
            "b" => out.push_str(&format!("{}号楼", ctx.building)),
            "u" => out.push_str(&format!("{}单元", rng.int(1, 6))),
            "fl" => out.push_str(&format!("{}楼", rng.int(2, 18))),
            "n" => out.push_str(&rng.int(2, 7).to_string()),
            "t" => out.push_str(&rng.int(9, 16).to_string()),
            "h" => out.push_str(&rng.int(2, 6).to_string()),
            "age" => out.push_str(&rng.int(72, 93).to_string()),
            "when" => out.push_str(rng.pick(vocab::WHEN).copied().unwrap_or("今天")),
            "shop" => out.push_str(rng.pick(vocab::SHOPS).copied().unwrap_or("饭店")),
            "car" => out.push_str(rng.pick(vocab::CARS).copied().unwrap_or("一辆车")),
            "hosp" => out.push_str(rng.pick(vocab::HOSPITALS).copied().unwrap_or("医院")),
            "spot" => out.push_str(rng.pick(vocab::SIGHTS).copied().unwrap_or("景区")),
            "bus" => out.push_str(&format!("{}路", rng.int(1, 399))),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// What a template's slots are filled with.
#[derive(Debug, Clone)]
pub struct Context {
    pub loc: String,
    pub road: String,
    pub community: String,
    pub building: i64,
}

/// A new call to make: its category (index into [`CATEGORIES`]), the templates of its text,
/// its place (and address, else one is made up), caller and time.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub category: usize,
    pub templates: &'a [&'a str],
    pub spot: &'a Spot,
    pub address: Option<Address>,
    pub phone: String,
    pub at_ms: i64,
    /// Whether later repeat calls may come back to this issue.
    pub remember: bool,
}

/// An earlier caller's issue, for repeat calls.
#[derive(Debug, Clone)]
struct Issue {
    phone: String,
    category: usize,
    spot: Spot,
    address: String,
    district: String,
    text: String,
}

/// Makes tickets: ids, callers, texts, places.
#[derive(Debug)]
pub struct TicketMaker {
    /// Indices into [`CATEGORIES`] of the categories this catalogue has.
    categories: Vec<usize>,
    recent: VecDeque<Issue>,
    repeat_share: f64,
    prefix: String,
    run_tag: String,
    seq: u64,
}

/// Synthetic callers: `1390000xxxx`, ten thousand numbers, so regulars call again.
pub fn phone(rng: &mut Rng) -> String {
    format!("1390000{:04}", rng.int(0, 9_999))
}

const RECENT: usize = 400;

impl TicketMaker {
    /// Uses the categories of [`CATEGORIES`] that `catalogue` has.
    pub fn new(catalogue: &Catalogue, repeat_share: f64, prefix: &str, run_tag: &str) -> Self {
        let categories = (0..CATEGORIES.len())
            .filter(|&i| {
                catalogue
                    .category(&cityops_core::CategoryId::from(CATEGORIES[i].category))
                    .is_some()
            })
            .collect();
        Self {
            categories,
            recent: VecDeque::with_capacity(RECENT),
            repeat_share,
            prefix: prefix.to_owned(),
            run_tag: run_tag.to_owned(),
            seq: 0,
        }
    }

    pub fn has_categories(&self) -> bool {
        !self.categories.is_empty()
    }

    /// Whether the catalogue has `category` and the simulator has words for it.
    pub fn knows(&self, category: &str) -> Option<usize> {
        self.categories
            .iter()
            .copied()
            .find(|&i| CATEGORIES[i].category == category)
    }

    fn next_id(&mut self, at_ms: i64) -> String {
        self.seq += 1;
        format!(
            "{}-{}-{}-{:06}",
            self.prefix,
            yyyymmdd(at_ms),
            self.run_tag,
            self.seq
        )
    }

    /// An ordinary call at `at_ms`: a repeat of a recent caller's issue now and then, else a
    /// new caller somewhere in the city about a category drawn by season and hour.
    pub fn ticket(
        &mut self,
        geo: &Geography,
        places: &Places,
        at_ms: i64,
        rng: &mut Rng,
    ) -> Option<Ticket> {
        if !self.recent.is_empty() && rng.chance(self.repeat_share) {
            let issue = self.recent[rng.index(self.recent.len())].clone();
            let opening = render(
                rng.pick(vocab::REPEAT_OPENINGS).copied().unwrap_or(""),
                &empty_ctx(),
                rng,
            );
            let text = format!("{opening}{}", issue.text);
            let mut t = self.compose(
                places,
                issue.category,
                &issue.spot,
                issue.address,
                issue.district,
                text,
                issue.phone,
                at_ms,
                rng,
            );
            t.repeat = true;
            return Some(t);
        }
        let weights = category_weights(&self.categories, at_ms);
        let c = self.categories[rng.weighted(&weights)?];
        let spot = places.random_spot(geo, rng);
        let call = Call {
            category: c,
            templates: CATEGORIES[c].texts,
            spot: &spot,
            address: None,
            phone: phone(rng),
            at_ms,
            remember: true,
        };
        Some(self.new_call(geo, places, call, rng))
    }

    /// A new caller's ticket.
    pub fn new_call(
        &mut self,
        geo: &Geography,
        places: &Places,
        call: Call<'_>,
        rng: &mut Rng,
    ) -> Ticket {
        let Call {
            category: c,
            templates,
            spot,
            address,
            phone,
            at_ms,
            remember,
        } = call;
        let address = address.unwrap_or_else(|| places.address(geo, spot, rng));
        let ctx = Context {
            loc: address.local.clone(),
            road: address.road.clone(),
            community: address.community.clone(),
            building: rng.int(1, 24),
        };
        let body = render(rng.pick(templates).copied().unwrap_or(""), &ctx, rng);
        let district = places.streets[spot.street].district_name.clone();
        let full = address.full.clone();
        let t = self.compose(
            places,
            c,
            spot,
            address.full,
            district,
            body.clone(),
            phone.clone(),
            at_ms,
            rng,
        );
        if !remember {
            return t;
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Issue {
            phone,
            category: c,
            spot: spot.clone(),
            address: full,
            district: places.streets[spot.street].district_name.clone(),
            text: body,
        });
        t
    }

    #[allow(clippy::too_many_arguments)]
    fn compose(
        &mut self,
        places: &Places,
        c: usize,
        spot: &Spot,
        address: String,
        district: String,
        body: String,
        phone: String,
        at_ms: i64,
        rng: &mut Rng,
    ) -> Ticket {
        let texts: &CategoryTexts = &CATEGORIES[c];
        let channel = match rng.weighted(&[65.0, 15.0, 15.0, 5.0]) {
            Some(1) => "app",
            Some(2) => "wechat",
            Some(3) => "web",
            _ => "phone",
        };
        let urgent = texts.request_type == "求助";
        let opening = if channel == "phone" {
            rng.pick(vocab::PHONE_OPENINGS).copied().unwrap_or("")
        } else {
            rng.pick(vocab::APP_OPENINGS).copied().unwrap_or("")
        };
        let closing = if urgent {
            rng.pick(vocab::URGENT_CLOSINGS).copied().unwrap_or("")
        } else {
            rng.pick(vocab::CLOSINGS).copied().unwrap_or("")
        };
        let located = match channel {
            "app" | "wechat" => rng.chance(0.85),
            "web" => rng.chance(0.3),
            _ => rng.chance(0.45),
        };
        let with_address = channel == "phone" || !located || rng.chance(0.7);
        Ticket {
            ticket_id: self.next_id(at_ms),
            received_at_ms: at_ms - at_ms.rem_euclid(1_000),
            channel,
            request_type: texts.request_type,
            content: format!("{opening}{body}{closing}"),
            address: with_address.then_some(address),
            district: (rng.chance(0.9) || !located).then_some(district),
            point: located.then_some((spot.lat, spot.lon)),
            caller_phone: phone,
            category: texts.category.to_owned(),
            street_code: places.streets[spot.street].code.clone(),
            repeat: false,
            episode: None,
        }
    }
}

fn empty_ctx() -> Context {
    Context {
        loc: String::new(),
        road: String::new(),
        community: String::new(),
        building: 1,
    }
}
