-- How many customers each trigram of the search index is found in, so that a search asks
-- the index for its two rarest trigrams only and checks its whole text on the rows found
-- (docs/architecture.md, "Search"). The counts are taken again whenever the index is
-- compacted (after a seed, after a finished refresh); a trigram counted nowhere yet is
-- taken as rare.
CREATE VIRTUAL TABLE customers_search_vocab USING fts5vocab(customers_search, 'row');
CREATE TABLE customers_search_terms (
    term TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO customers_search_terms (term, docs) SELECT term, doc FROM customers_search_vocab;
