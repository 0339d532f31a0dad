//! Issue 5, routing by trunk: a trunk call's flow is the trunk's own number,
//! else the global service number, else the trunk's catch-all; anything
//! else (and a non-trunk call to a number only a trunk knows) is rejected.

use super::*;
use crate::cti::TrunkRoutes;

/// `cfg()` (service 8000 → welcome) plus trunk `carrier`: 8000 → its own
/// flow, 5551000 → main, catch-all partner; trunk `bare` with no routes.
fn trunk_cfg() -> CtiConfig {
    let mut cfg = cfg();
    cfg.dnis_scripts.insert("100".into(), "main".into());
    let carrier = TrunkRoutes {
        services: [("8000", "carrier-welcome"), ("5551000", "main")]
            .map(|(n, f)| (n.to_owned(), f.to_owned()))
            .into(),
        script: Some("partner".into()),
    };
    cfg.trunks.insert("carrier".into(), carrier);
    cfg.trunks.insert("bare".into(), TrunkRoutes::default());
    cfg
}

/// RouteRequest for contact `id` to `dnis` from `trunk`: the selected target.
fn route(cti: &mut Cti, id: u64, dnis: &str, trunk: Option<&str>) -> RouteTarget {
    let input = Input::RouteRequest {
        contact: ContactId(id),
        dnis: dnis.into(),
        caller: "sip:+15550100@192.0.2.10".into(),
        media: Media::Audio,
        trunk: trunk.map(str::to_owned),
    };
    match step(cti, Instant::now(), input).as_slice() {
        [Output::RouteSelect { contact, target }] if *contact == ContactId(id) => target.clone(),
        other => panic!("expected one RouteSelect, got {other:?}"),
    }
}

fn ivr(script: &str) -> RouteTarget {
    RouteTarget::Ivr {
        script: script.into(),
    }
}

const UNKNOWN: RouteTarget = RouteTarget::Reject {
    cause: RejectCause::UnknownDnis,
};

#[test]
fn the_trunks_own_number_wins_over_the_global_service() {
    let mut cti = Cti::new(trunk_cfg());
    assert_eq!(
        route(&mut cti, 1, "8000", Some("carrier")),
        ivr("carrier-welcome")
    );
    assert_eq!(route(&mut cti, 2, "8000", None), ivr("welcome"));
}

#[test]
fn a_global_service_number_wins_over_the_trunks_catch_all() {
    let mut cti = Cti::new(trunk_cfg());
    assert_eq!(route(&mut cti, 1, "100", Some("carrier")), ivr("main"));
}

#[test]
fn any_other_number_from_the_trunk_takes_its_catch_all() {
    let mut cti = Cti::new(trunk_cfg());
    assert_eq!(route(&mut cti, 1, "4711", Some("carrier")), ivr("partner"));
    assert_eq!(route(&mut cti, 2, "5551000", Some("carrier")), ivr("main"));
}

#[test]
fn numbers_only_a_trunk_knows_are_rejected_for_other_callers() {
    let mut cti = Cti::new(trunk_cfg());
    assert_eq!(route(&mut cti, 1, "4711", None), UNKNOWN);
    assert_eq!(route(&mut cti, 2, "5551000", None), UNKNOWN);
    assert_eq!(route(&mut cti, 3, "5551000", Some("bare")), UNKNOWN);
    assert_eq!(route(&mut cti, 4, "8000", Some("bare")), ivr("welcome"));
    // A trunk the configuration does not know routes like no trunk.
    assert_eq!(route(&mut cti, 5, "4711", Some("gone")), UNKNOWN);
}

#[test]
fn the_route_request_event_names_the_trunk_and_omits_it_when_none() {
    let mut cti = Cti::new(trunk_cfg());
    route(&mut cti, 1, "4711", Some("carrier"));
    route(&mut cti, 2, "8000", None);
    let request = |id| {
        let c = cti.contact(ContactId(id)).unwrap();
        let ev = c
            .history()
            .find(|e| matches!(e, CstaEvent::RouteRequest { .. }))
            .cloned()
            .unwrap();
        serde_json::to_value(ev).unwrap()
    };
    assert_eq!(request(1)["trunk"], "carrier");
    assert!(request(2).get("trunk").is_none(), "{}", request(2));
}

#[test]
fn an_oversized_trunk_name_is_refused_like_any_peer_text() {
    let mut cti = Cti::new(trunk_cfg());
    let input = Input::RouteRequest {
        contact: ContactId(1),
        dnis: "100".into(),
        caller: "sip:x@y".into(),
        media: Media::Audio,
        trunk: Some("t".repeat(10_000)),
    };
    let out = step(&mut cti, Instant::now(), input);
    assert!(refused(&out).is_some(), "{out:?}");
    assert!(cti.contact(ContactId(1)).is_none());
}
