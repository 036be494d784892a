-- cfg.raise_invalid(p_table, p_column, p_constraint, p_message, p_sqlstate = '23514') -> void
--
-- Contract: always raises p_message with SQLSTATE p_sqlstate (default check_violation) and the
-- error fields SCHEMA = 'cfg', TABLE = p_table, COLUMN = p_column, CONSTRAINT = p_constraint, so
-- the console can turn the error into a form error on the right field. Never returns.
CREATE OR REPLACE FUNCTION cfg.raise_invalid(
    p_table text,
    p_column text,
    p_constraint text,
    p_message text,
    p_sqlstate text DEFAULT '23514'
) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = p_message,
        ERRCODE = p_sqlstate,
        SCHEMA = 'cfg',
        TABLE = p_table,
        COLUMN = p_column,
        CONSTRAINT = p_constraint;
END
$$;

REVOKE ALL ON FUNCTION cfg.raise_invalid(text, text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION cfg.raise_invalid(text, text, text, text, text) IS
    'Raise a validation error naming the field (table, column, constraint) and the value (in the message).';
