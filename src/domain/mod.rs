//! Pure types and rules. Nothing here does I/O or imports another area of the crate.

pub mod contact;
pub mod customer;
pub mod invitation;
pub mod new_customer;
pub mod roles;
pub mod status;
pub mod tokens;

pub use contact::{AcceptanceDate, Contact, FieldError};
pub use customer::{Attestation, Customer, CustomerSummary, StatusInputs};
pub use roles::{AgentRole, PartnerType, Permissions, RoleSet};
pub use status::{EffectiveStatus, ReattestationPolicy, StatusVerdict};
pub use tokens::UserTokens;
