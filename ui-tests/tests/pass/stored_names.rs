//! Field names as users spell them: a raw identifier is stored and reported without its `r#`, and its
//! flash accessors drop it too. Two names whose tags collide compile once one is renamed.
use sessions::Session;

#[derive(Session, Default)]
struct r#Match {
    r#type: Option<String>,
    #[flash]
    r#loop: Option<String>,
    costarring: Option<u64>,
    #[session(rename = "liquid_v2")]
    liquid: Option<u64>,
}

#[test]
fn compiles_and_runs() {
    let names: Vec<_> = r#Match::FIELDS.iter().map(|field| field.name()).collect();
    assert_eq!(names, ["type", "loop", "costarring", "liquid"]);
    assert_eq!(r#Match::CONFIG.cookie().name(), "match");
    let mut session = r#Match::default();
    session.flash_loop("again".to_string());
    assert_eq!(session.take_loop().as_deref(), Some("again"));
}
