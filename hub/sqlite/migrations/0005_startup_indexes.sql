-- What a start reads about the events, without reading them all: the
-- greatest stamp (Store.MaxHLC) is the last entry of events_hlc, and the
-- events kept unapplied because they were of a newer version (few, most
-- often none) are the whole of events_unsupported.
CREATE INDEX IF NOT EXISTS events_hlc ON events (hlc);
CREATE INDEX IF NOT EXISTS events_unsupported ON events (v) WHERE status = 'unsupported';
