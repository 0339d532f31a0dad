//! The IP-IVR (MISSION.md: "scripts editable without code"; issue 3's IVR
//! bullet): the script format and its loader ([`script`]) and the pure
//! interpreter of one call ([`session`]). The media player and the SIP side
//! of the IVR live in the shells.

pub mod script;
pub mod session;
