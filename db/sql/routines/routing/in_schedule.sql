-- routing.in_schedule(p_schedule_id bigint, p_now timestamptz) -> boolean
--
-- Contract: true when schedule p_schedule_id is open at instant p_now, read on the wall clock of
-- the schedule's IANA time zone (so DST gaps and overlaps follow the zone's rules: in a
-- spring-forward gap the clock jumps, in a fall-back overlap both instants read the same local
-- time). A window [start_time, end_time) belongs to the day it starts on; end_time <= start_time
-- means it crosses midnight and continues on the next day until end_time; end_time 24:00 means
-- until midnight. Dated exceptions replace the weekly windows that start on their date: closed
-- (holiday) rows open nothing, special-hours rows are that day's windows. Unknown schedule: false.
-- STABLE, never reads the clock.
CREATE OR REPLACE FUNCTION routing.in_schedule(p_schedule_id bigint, p_now timestamptz)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_local timestamp;
    v_date  date;
    v_time  time;
BEGIN
    SELECT p_now AT TIME ZONE s.time_zone INTO v_local FROM cfg.schedule s WHERE s.id = p_schedule_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    v_date := v_local::date;
    v_time := v_local::time;
    RETURN EXISTS (
        SELECT 1
          FROM (SELECT e.on_date AS day, e.start_time, e.end_time
                  FROM cfg.schedule_exception e
                 WHERE e.schedule_id = p_schedule_id
                   AND e.on_date IN (v_date, v_date - 1)
                   AND NOT e.closed
                UNION ALL
                SELECT d.day, w.start_time, w.end_time
                  FROM (VALUES (v_date), (v_date - 1)) AS d (day)
                  JOIN cfg.schedule_window w
                    ON w.schedule_id = p_schedule_id
                   AND w.iso_dow = extract(isodow FROM d.day)::smallint
                 WHERE NOT EXISTS (SELECT 1 FROM cfg.schedule_exception x
                                    WHERE x.schedule_id = p_schedule_id AND x.on_date = d.day)
               ) AS win
         WHERE CASE WHEN win.day = v_date
                    THEN v_time >= win.start_time AND (win.end_time <= win.start_time OR v_time < win.end_time)
                    ELSE win.end_time <= win.start_time AND v_time < win.end_time
               END);
END
$$;

REVOKE ALL ON FUNCTION routing.in_schedule(bigint, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION routing.in_schedule(bigint, timestamptz) IS
    'Is the schedule open at p_now (wall clock of its IANA zone; midnight-crossing windows; dated exceptions)? STABLE.';
