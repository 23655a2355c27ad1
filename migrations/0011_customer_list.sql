-- The customer list as a worksheet (docs/architecture.md, "Customer list"): what it
-- shows, sorts and filters by is on the customer's own row, each order served by an
-- index that starts with the tenant, so a page reads only its own rows.

-- Partner Center's "Customer acceptance through Microsoft" (1 provided, 0 not provided,
-- empty when not read), kept with `direct_acceptance` in the same transaction.
ALTER TABLE customers ADD COLUMN accepted_directly BIGINT;
-- The latest partner attestation: its date (year-month-day, empty for none, so that the
-- column is never empty in an index order) and the partner user who made it.
ALTER TABLE customers ADD COLUMN latest_attestation_on TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN latest_attestation_by TEXT;
-- The indirect reseller a customer of an indirect provider is associated with, as
-- Partner Center's customer read names it (`associatedPartnerId`); empty when not known.
ALTER TABLE customers ADD COLUMN associated_partner_id TEXT;

UPDATE customers SET accepted_directly = (
    SELECT d.is_signed FROM direct_acceptance d
    WHERE d.tenant_id = customers.tenant_id AND d.customer_id = customers.customer_id
);
-- The latest as the account page orders them: newest date first, then list position.
UPDATE customers SET
    latest_attestation_on = COALESCE((
        SELECT a.date_agreed FROM partner_attestations a
        WHERE a.tenant_id = customers.tenant_id AND a.customer_id = customers.customer_id
        ORDER BY a.date_agreed DESC, a.position LIMIT 1
    ), ''),
    latest_attestation_by = (
        SELECT a.user_id FROM partner_attestations a
        WHERE a.tenant_id = customers.tenant_id AND a.customer_id = customers.customer_id
        ORDER BY a.date_agreed DESC, a.position LIMIT 1
    );

-- One index per order of the list, with and without the status and acceptance filters;
-- each ends with the customer id, the tie-break that makes a position in the list exact
-- (keyset paging). By company name: customers_by_name (tenant_id, company_name,
-- customer_id), from 0001. Within one status the status order is the name order.
-- The API keys' migration (0015) creates the same status-and-name index: whichever runs
-- first makes it.
DROP INDEX IF EXISTS customers_by_status;
CREATE INDEX IF NOT EXISTS customers_by_status_and_name ON customers (tenant_id, status, company_name, customer_id);
CREATE INDEX customers_by_attestation ON customers (tenant_id, latest_attestation_on, customer_id);
CREATE INDEX customers_by_status_and_attestation
    ON customers (tenant_id, status, latest_attestation_on, customer_id);
-- The acceptance filter is not spread evenly over the orders (customers who accepted
-- directly are rarely attested), so it has indexes of its own rather than a check on
-- the rows of another order.
CREATE INDEX customers_by_acceptance_and_name
    ON customers (tenant_id, accepted_directly, company_name, customer_id);
CREATE INDEX customers_by_acceptance_status_and_name
    ON customers (tenant_id, accepted_directly, status, company_name, customer_id);
CREATE INDEX customers_by_acceptance_and_attestation
    ON customers (tenant_id, accepted_directly, latest_attestation_on, customer_id);
CREATE INDEX customers_by_acceptance_status_and_attestation
    ON customers (tenant_id, accepted_directly, status, latest_attestation_on, customer_id);

-- How many customers a partner has in each status and acceptance, kept up to date by
-- triggers on `customers` (0012) in the transaction that changes a customer, so that no
-- page counts the portfolio. acceptance: 'yes', 'no' or 'unknown' (not read).
CREATE TABLE customer_counts (
    tenant_id TEXT NOT NULL,
    status TEXT NOT NULL,
    acceptance TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, status, acceptance)
);
