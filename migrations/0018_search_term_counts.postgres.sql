-- Nothing on PostgreSQL: its planner chooses how to use the trigram index from its own
-- statistics. The migration exists so that both databases count the same versions.
SELECT 1;
