-- The indirect provider of a partner tenant that is an indirect reseller, by name, as
-- Partner Center's relationships call named it when the partner type was read: the
-- portal's refusal to let a reseller attest tells whom to work with instead. Empty for
-- other partners, and when Partner Center named none.
ALTER TABLE partner_tenants ADD COLUMN indirect_provider TEXT;
