-- A re-plan reads only the logs that can change the trip's plan, those
-- overlapping its window (circadian.LogWindowOf), so that its work does
-- not grow with the family's history. Logs that began in the window, or
-- up to a day before it, are a range of facts_counting. Logs that began
-- earlier and still reach into it are sleeps never ended (end_ms NULL),
-- or, should the rules ever allow one, a log longer than a day: this index
-- holds only those, so that a sleep left open years ago is found without
-- reading the years since.
CREATE INDEX facts_open_or_long ON facts (member_id, start_ms)
	WHERE counts = 1 AND (end_ms IS NULL OR end_ms - start_ms > 86400000);
