//! Pure types and rules. Nothing here does I/O or imports another area of the crate.

pub mod api_key;
pub mod audit;
pub mod backoff;
pub mod contact;
pub mod customer;
pub mod invitation;
pub mod new_customer;
pub mod readiness;
pub mod roles;
pub mod rules;
pub mod status;
pub mod submission;
pub mod tenant;
pub mod tokens;
pub mod user;

pub use contact::{AcceptanceDate, Contact};
pub use customer::{Attestation, Customer, CustomerSummary, LatestAttestation, StatusInputs, is_customer_id};
pub use readiness::{Readiness, ReadinessInputs, ReadinessReason, ReadinessVerdict};
pub use roles::{AgentRole, AttestRefusal, PartnerType, Permissions, RoleSet};
pub use rules::FieldError;
pub use status::{EffectiveStatus, ReattestationPolicy, StatusVerdict};
pub use submission::{AttestationRequest, IdempotencyKey, Request};
pub use tenant::parse_tenant_id;
pub use tokens::{IdToken, UserTokens};
pub use user::{Attester, PartnerUser};
