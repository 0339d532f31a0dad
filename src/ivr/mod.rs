//! The IP-IVR / media server (MISSION.md step 4): [`ms`] is the SIP user
//! agent the SoftACD invites (one dialog and one media stream per call),
//! driving one script session per call.

pub mod ms;
