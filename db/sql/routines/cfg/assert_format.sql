-- cfg.assert_format(p_table, p_column, p_value, p_pattern, p_expected, p_max_length) -> boolean
--
-- Contract: returns true when p_value is NULL or (is at most p_max_length characters long, when
-- given, and matches the POSIX regex p_pattern); otherwise raises
-- check_violation "<table>.<column> = '<value>' is not valid: expected <p_expected>" with
-- CONSTRAINT <table>_<column>_format (the name of the matching CHECK constraint). Values are
-- quoted with %L, or JSON-escaped ("a\nb") when they hold control characters, so CR/LF in a
-- hostile value cannot forge lines in a log; at most 200 characters are shown.
CREATE OR REPLACE FUNCTION cfg.assert_format(
    p_table text,
    p_column text,
    p_value text,
    p_pattern text,
    p_expected text,
    p_max_length integer DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF p_value IS NOT NULL AND (length(p_value) > p_max_length OR p_value !~ p_pattern) THEN
        PERFORM cfg.raise_invalid(p_table, p_column, format('%s_%s_format', p_table, p_column),
            format('%s.%s = %s is not valid: expected %s',
                   p_table, p_column,
                   left(CASE WHEN p_value ~ '[[:cntrl:]]' THEN to_json(p_value)::text
                             ELSE quote_literal(p_value) END, 200),
                   p_expected));
    END IF;
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION cfg.assert_format(text, text, text, text, text, integer) FROM PUBLIC;
COMMENT ON FUNCTION cfg.assert_format(text, text, text, text, text, integer) IS
    'Raise check_violation naming table.column and the value when the value does not match the pattern.';
