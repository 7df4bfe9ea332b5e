-- imip-agent PostgreSQL store, schema version 1 (docs/postgresql.md).
--
-- Applied by `imip-admin db-upgrade`, which runs this whole file in one
-- transaction and then records the version in schema_version; so this
-- file holds no BEGIN/COMMIT and no psql meta-commands.  Files are never
-- edited once released: a change is a new file NNN-what.sql.
--
-- The tables hold the same facts as the file store (docs/store.md; the
-- section numbers below are that page's).  Names and values:
--   * a calendar user is a row of `users`; every other table of a user
--     refers to its id and goes when the user goes (ON DELETE CASCADE);
--   * addresses are in normal form (lower case, no mailto:), UIDs as
--     received, RECURRENCE-IDs normalised (UTC ...Z, or floating, or a
--     date); nothing is encoded as for file names (section 2): values
--     travel as query parameters, never inside SQL text;
--   * `rid` is '' for the master or the whole non-recurring event (a
--     normalised RECURRENCE-ID is never empty), so that it can be part
--     of a primary key;
--   * a UID comes from the sender and may be of any length, longer than
--     a btree index entry may be (about 2.7 kB): the keys use its
--     SHA-256 (`uid_key`, computed by imip_key() below) in its place,
--     as the file store hashes a long UID into a file name;
--   * calendar objects and counter-proposals are text, exactly as
--     composed or received: the agent only stores calendar parts that
--     are valid UTF-8 without NUL bytes, and the database must use the
--     UTF8 encoding (checked below), so text keeps every byte (CRLF
--     included) and stays readable with psql and in a pg_dump;
--   * times are timestamptz (UTC in, UTC out).
--
-- Locking (common/store-pg.h): one processing (the read-decide-write
-- of one message) is one session on one connection.  A writer first
-- takes a session-level advisory lock on the user,
--
--     SELECT pg_advisory_lock(hashtextextended('imip-user:' || $1, 0))
--
-- then works in transactions at READ COMMITTED: the first holds the
-- message's changes and is committed before any reply leaves; the
-- lock outlives that commit, so the replies are still sent by one host
-- at a time, and goes with pg_advisory_unlock_all() at the end of the
-- session, or with the connection when a client dies.  The advisory
-- lock is the file store's flock(2) on <user>/.lock (section 6):
-- writers of one user run one after the other, different users in
-- parallel (two users whose hashes collide merely wait for each other).
-- An advisory lock rather than a lock on the user's row: it can be
-- taken before the row exists (a first delivery creates it) and kept
-- across commits.  A reader (imip-admin events, a resource reading a
-- delegator) takes no lock: its transaction is REPEATABLE READ READ
-- ONLY and sees one committed state, never a writer's half.
--
-- Quota journals (section 7; common/journal-pg.c) are locked through
-- their row of `quotas` (SELECT ... FOR NO KEY UPDATE) inside the
-- quota's own transaction, on a connection of its own, always after the
-- user's advisory lock (a resource takes its own lock first) and, when
-- a decision needs several, in name order, so two resources sharing a
-- quota cannot deadlock.  `imip-admin db-upgrade` serialises itself with
-- pg_advisory_xact_lock, outside these tables.

DO $$
BEGIN
	IF pg_encoding_to_char((SELECT encoding FROM pg_database
				WHERE datname = current_database())) <> 'UTF8' THEN
		RAISE EXCEPTION 'the imip-agent database must use the UTF8 encoding (createdb -E UTF8)';
	END IF;
END
$$;

-- The versions applied so far; the highest is the schema's version.
-- Written by imip-admin db-upgrade in the same transaction as the file.
CREATE TABLE schema_version (
	version integer PRIMARY KEY CHECK (version > 0),
	name text NOT NULL,			-- the file, e.g. 001-initial.sql
	applied timestamptz NOT NULL DEFAULT now()
);

-- A long value as an index key: the SHA-256 of its UTF-8 bytes.  A
-- function so that generated columns may use it (convert_to is only
-- STABLE, as encodings could change; the database's is UTF8, checked
-- above, so the result never changes).
CREATE FUNCTION imip_key(value text) RETURNS bytea
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT sha256(convert_to(value, 'UTF8')) $$;

-- Calendar users that have a store (the first writer creates the row).
CREATE TABLE users (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	address text NOT NULL UNIQUE CHECK (address <> ''),
	created timestamptz NOT NULL DEFAULT now()
);

-- Calendar objects (section 3): objects/, recurrences/ and
-- cancellations/ in one table.  The state column makes "a (uid, rid) is
-- either active or cancelled, never both" a property of the primary key.
CREATE TABLE objects (
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	uid text NOT NULL,
	uid_key bytea NOT NULL GENERATED ALWAYS AS (imip_key(uid)) STORED,
	rid text NOT NULL DEFAULT '',		-- '' = master / whole event
	state text NOT NULL CHECK (state IN ('active', 'cancelled')),
	data text NOT NULL,			-- the VCALENDAR text
	modified timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, uid_key, rid)
);

-- COUNTERs received (section 3, counters/): one per attendee and
-- (uid, rid), replaced by a later one.
CREATE TABLE counters (
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	uid text NOT NULL,
	uid_key bytea NOT NULL GENERATED ALWAYS AS (imip_key(uid)) STORED,
	rid text NOT NULL DEFAULT '',
	attendee text NOT NULL CHECK (attendee <> ''),
	data text NOT NULL,			-- the COUNTER's VCALENDAR text
	received timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, uid_key, rid, attendee)
);

-- Requests waiting for the user's answer (section 3.1).  What arrives
-- can be derived from the objects and the counters; the table is kept
-- as a cache of that list, which the agent reads and rewrites whole
-- (store_requests_write): `position` keeps the list's order, and one
-- (uid, rid) may be there twice with different kinds (a request and a
-- counter-proposal).
CREATE TABLE requests (
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	position integer NOT NULL CHECK (position >= 0),
	uid text NOT NULL,
	rid text NOT NULL DEFAULT '',
	kind text NOT NULL CHECK (kind <> ''),	-- request, counter, add, refresh
	PRIMARY KEY (user_id, position)
);

-- Calendar parts already processed (section 3.2), so that a message
-- delivered twice changes nothing, with the outcome and reason of that
-- first processing (a duplicate reports them; NULL when not recorded).
-- A new entry replaces the one of the same digest; entries older than
-- 90 days go when one is added.
CREATE TABLE seen (
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	digest text NOT NULL CHECK (digest <> ''),	-- hex SHA-256 of the part
	processed timestamptz NOT NULL,
	outcome text,				-- added, updated, ..., error
	reason text,
	PRIMARY KEY (user_id, digest)
);
CREATE INDEX seen_expiry ON seen (user_id, processed);

-- Busy periods (section 3.3), derived from the objects (imip-admin
-- rebuild).  fb_table says which of the user's tables a period is in:
--   own     freebusy: the user's own busy time;
--   other   freebusy-other/<other>: what the user knows of `other`;
--   offers  freebusy-offers: held for counter-proposals, until expires.
-- A UID's periods are replaced all at once (DELETE ... WHERE uid, then
-- INSERT), and a window is read with
--   WHERE user_id = $1 AND fb_table = $2 AND other = $3
--     AND start_at < $to AND end_at > $from ORDER BY start_at, end_at
-- which busy_window serves: the equality columns, then a range scan on
-- start_at that also gives the order.  A GiST index on a tstzrange
-- would bound end_at too, but needs the btree_gist extension for the
-- equality columns, and a user's table (at most freebusy_horizon_days
-- ahead) is small enough that filtering end_at costs little.
CREATE TABLE busy_periods (
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	fb_table text NOT NULL CHECK (fb_table IN ('own', 'other', 'offers')),
	other text NOT NULL DEFAULT '',		-- the other party, for 'other'
	uid text NOT NULL,
	rid text NOT NULL DEFAULT '',		-- '' = non-recurring event
	start_at timestamptz NOT NULL,
	end_at timestamptz NOT NULL,
	-- TRANSP as the message gave it: derived rows hold whatever the
	-- file store would, never a reason to fail a message
	transp text NOT NULL DEFAULT '',
	summary text NOT NULL DEFAULT '',
	organiser text NOT NULL DEFAULT '',
	expires timestamptz,			-- only for 'offers'
	CHECK ((fb_table = 'other') = (other <> '')),
	CHECK (expires IS NULL OR fb_table = 'offers')
);
CREATE INDEX busy_window
	ON busy_periods (user_id, fb_table, other, start_at, end_at);
CREATE INDEX busy_uid ON busy_periods (user_id, uid);

-- The outbox (section 3.4, outbox.h): replies composed but not yet
-- handed to the MTA (queue 'queued'), and those given up ('failed').
-- The agent writes a reply here in the transaction that records the
-- processing, commits, then sends it and removes it; a reply whose
-- sending failed stays queued and is retried, so a crash between commit
-- and send loses no reply, and a replayed message (seen) adds none.
-- An entry is opaque to the store: outbox.c's header block (recipient,
-- attempts, last error) and the message, as bytes, named by outbox.c
-- (hex digits).
CREATE TABLE outbox (
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	queue text NOT NULL CHECK (queue IN ('queued', 'failed')),
	name text NOT NULL CHECK (name ~ '^[0-9A-Fa-f]{1,128}$'),
	data bytea NOT NULL,
	written timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, queue, name)
);

-- Per-user preferences (section 4; imip-preferences(5)): the value
-- without the final newline, several lines for acl and
-- scheduling_function.  A missing row means the site default.
CREATE TABLE preferences (
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	name text NOT NULL CHECK (name ~ '^[A-Za-z0-9_]+$'),
	value text NOT NULL,
	PRIMARY KEY (user_id, name)
);

-- Published free/busy (section 5): the VCALENDAR a web server serves
-- for the user, present only while the user shares and publishes it.
-- Written in the processing's transaction; the agent also writes the
-- file static_dir/<user>/freebusy, as the file store does, for a web
-- server that serves files.
CREATE TABLE published_freebusy (
	user_id bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
	data text NOT NULL,
	updated timestamptz NOT NULL DEFAULT now()
);

-- Quota journals (section 7): one row per quota, also its lock (above).
-- `name` as in the journal directory's name, unencoded: an address in
-- normal form or one word.
CREATE TABLE quotas (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name <> ''),
	created timestamptz NOT NULL DEFAULT now()
);

-- limits: the most booked time per subject (an organiser, a group or *);
-- 0 allows nothing (imip-admin quota Q limit S PT0S).
CREATE TABLE quota_limits (
	quota_id bigint NOT NULL REFERENCES quotas ON DELETE CASCADE,
	subject text NOT NULL CHECK (subject <> ''),
	seconds bigint NOT NULL CHECK (seconds >= 0),
	PRIMARY KEY (quota_id, subject)
);

-- groups: one group per organiser; a group is never an address or *.
CREATE TABLE quota_groups (
	quota_id bigint NOT NULL REFERENCES quotas ON DELETE CASCADE,
	member text NOT NULL CHECK (member <> ''),
	group_name text NOT NULL
		CHECK (group_name <> '' AND group_name <> '*'
		       AND position('@' IN group_name) = 0),
	PRIMARY KEY (quota_id, member)
);

-- delegates: the delegation pool, in the order schedule_for_delegate
-- tries them.
CREATE TABLE quota_delegates (
	quota_id bigint NOT NULL REFERENCES quotas ON DELETE CASCADE,
	address text NOT NULL CHECK (address <> ''),
	ordinal integer NOT NULL,		-- 1, 2, ...: the order tried
	PRIMARY KEY (quota_id, address),
	UNIQUE (quota_id, ordinal)
);

-- reservations: the booked periods counted against the quota, one per
-- instance.  A resource replaces the rows of one (resource, uid) at
-- once (DELETE ... WHERE resource, uid_key, then INSERT: the primary
-- key's prefix); booked time is summed per organiser
-- (quota_reservations_organiser); update-quotas removes the rows whose
-- end has passed (quota_reservations_end).  Times are whole seconds.
CREATE TABLE quota_reservations (
	quota_id bigint NOT NULL REFERENCES quotas ON DELETE CASCADE,
	start_at timestamptz NOT NULL,
	end_at timestamptz NOT NULL,
	resource text NOT NULL CHECK (resource <> ''),
	uid text NOT NULL CHECK (uid <> ''),
	uid_key bytea NOT NULL GENERATED ALWAYS AS (imip_key(uid)) STORED,
	rid text NOT NULL DEFAULT '',		-- '' = non-recurring event
	organiser text NOT NULL,
	CHECK (start_at < end_at),
	PRIMARY KEY (quota_id, resource, uid_key, rid, start_at, end_at)
);
CREATE INDEX quota_reservations_organiser
	ON quota_reservations (quota_id, organiser);
CREATE INDEX quota_reservations_end ON quota_reservations (quota_id, end_at);
