//! mca-portal: browser screens for Microsoft Customer Agreement attestation in front of
//! the Partner Center API, with a built-in sandbox of Partner Center and Entra ID.

pub mod config;
pub mod domain;
pub mod identity;
pub mod jobs;
pub mod partner_center;
pub mod sandbox;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod workflows;
