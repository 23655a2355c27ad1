//! Black-box tests: the portal on port 0 with a fresh database and its sandbox, driven
//! over HTTP like a browser would; plus the store's contract, table by table, on both
//! databases, the client against the literal examples of Microsoft's documentation, and a
//! real browser.

mod access;
mod add_customer;
mod api_keys;
mod attest;
mod audit_log;
mod auth;
mod browser;
mod cli;
mod client;
mod csrf;
mod customer_list;
mod customers;
mod dashboard;
mod enhanced;
mod exports;
mod external_idp;
mod helpers;
mod instances;
mod invitation_templates;
mod invitations;
mod invitations_review;
mod queued_tokens;
mod rate_limits;
mod readiness;
mod refresh;
mod relationship_requests;
mod restart;
mod return_to;
mod roles_renewal;
mod sandbox;
mod sealed_data;
mod security;
mod seed_command;
mod sessions;
mod sign_in_tenant;
mod sign_out;
mod smtp;
mod smtp_server;
mod store;
mod upstream_text;
