-- billing.phone_of_device(p_device_id bigint) -> bigint
--
-- The billing phone a device acts as: the phone of that device, else the phone of the device's
-- user, else NULL (the device is not billed).
-- Internal helper: not SECURITY DEFINER, EXECUTE granted to nobody; it runs inside the billing
-- entry points (SECURITY DEFINER, search_path pinned), whose path it inherits (every name in it
-- is schema-qualified); no SET clause, which costs a path switch per call on the CDR hot path.
CREATE OR REPLACE FUNCTION billing.phone_of_device(p_device_id bigint)
RETURNS bigint
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        (SELECT p.id FROM billing.phone p WHERE p.device_id = p_device_id),
        (SELECT p.id FROM cfg.device d JOIN billing.phone p ON p.user_id = d.user_id
          WHERE d.id = p_device_id))
$$;

REVOKE ALL ON FUNCTION billing.phone_of_device(bigint) FROM PUBLIC;
COMMENT ON FUNCTION billing.phone_of_device(bigint) IS
    'The billing phone of a device: its own phone, else its user''s phone, else NULL.';
