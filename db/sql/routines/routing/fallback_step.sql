-- routing.fallback_step(p_destination text, p_context text) -> jsonb
--
-- Contract: the plan's fallback (docs/contracts.md section 3), also its last step after too many
-- overflow hops: {"type":"transfer", "destination":p_destination, "dialplan":"XML",
-- "context":p_context}, each of destination and context 'fallback' when NULL (a domain's
-- fallback_destination / fallback_context; both NULL for a call to an unknown domain). Used by
-- routing.build_plan and by the compiled plans alike.
CREATE OR REPLACE FUNCTION routing.fallback_step(p_destination text, p_context text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object('type', 'transfer', 'destination', coalesce(p_destination, 'fallback'),
                              'dialplan', 'XML', 'context', coalesce(p_context, 'fallback'));
$$;

REVOKE ALL ON FUNCTION routing.fallback_step(text, text) FROM PUBLIC;
COMMENT ON FUNCTION routing.fallback_step(text, text) IS
    'The transfer to a domain''s fallback (the plan''s fallback, and its last step after too many overflow hops).';
