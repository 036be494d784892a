-- cfg.assert_range(p_table, p_column, p_value, p_min, p_max, p_unit) -> boolean
--
-- Contract: returns true when p_value is NULL or p_min <= p_value <= p_max; otherwise raises
-- check_violation "<table>.<column> = <value> is out of range: must be between <min> and <max>
-- <unit>" with CONSTRAINT <table>_<column>_range (the name of the matching CHECK constraint).
CREATE OR REPLACE FUNCTION cfg.assert_range(
    p_table text,
    p_column text,
    p_value bigint,
    p_min bigint,
    p_max bigint,
    p_unit text DEFAULT ''
) RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF p_value IS NOT NULL AND (p_value < p_min OR p_value > p_max) THEN
        PERFORM cfg.raise_invalid(p_table, p_column, format('%s_%s_range', p_table, p_column),
            rtrim(format('%s.%s = %s is out of range: must be between %s and %s %s',
                         p_table, p_column, p_value, p_min, p_max, p_unit)));
    END IF;
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION cfg.assert_range(text, text, bigint, bigint, bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION cfg.assert_range(text, text, bigint, bigint, bigint, text) IS
    'Raise check_violation naming table.column and the value when the value is outside [min, max].';
