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
--   * calendar objects and counter-proposals are text, exactly as
--     composed or received: the agent only stores calendar parts that
--     are valid UTF-8 without NUL bytes, and the database must use the
--     UTF8 encoding (checked below), so text keeps every byte (CRLF
--     included) and stays readable with psql and in a pg_dump;
--   * times are timestamptz (UTC in, UTC out).
--
-- Locking: one processing (the read-decide-write of one message) is one
-- transaction at READ COMMITTED that first locks the user's row:
--
--     SELECT id FROM users WHERE address = $1 FOR NO KEY UPDATE  -- writer
--     SELECT id FROM users WHERE address = $1 FOR SHARE          -- reader
--
-- (a writer that may create the user first runs INSERT ... ON CONFLICT
-- (address) DO NOTHING).  The row lock is the file store's flock(2) on
-- <user>/.lock (section 6): writers of one user run one after the
-- other, readers share, different users run in parallel, and the lock
-- goes with the transaction, also when a client dies.  A row lock rather
-- than pg_advisory_xact_lock(hashtext(address)): the row must exist
-- anyway (it says the user has a store), two users never share a lock
-- as they would when their hashes collide, and pg_locks names the row.
-- FOR NO KEY UPDATE, not FOR UPDATE: it excludes the other writers and
-- the readers just the same, but not the FOR KEY SHARE locks the
-- foreign keys take.  READ COMMITTED, not REPEATABLE READ: each
-- statement after the lock sees what the previous holder committed.
--
-- Quota journals (section 7) are locked the same way through their row
-- of `quotas`, always exclusively and always after the user's lock (a
-- resource takes its own lock first), so two resources sharing a quota
-- cannot deadlock.  `imip-admin db-upgrade` serialises itself with
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

-- Calendar users that have a store; the row is also their lock (above).
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
	rid text NOT NULL DEFAULT '',		-- '' = master / whole event
	state text NOT NULL CHECK (state IN ('active', 'cancelled')),
	data text NOT NULL,			-- the VCALENDAR text
	modified timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, uid, rid)
);

-- COUNTERs received (section 3, counters/): one per attendee and
-- (uid, rid), replaced by a later one.
CREATE TABLE counters (
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	uid text NOT NULL,
	rid text NOT NULL DEFAULT '',
	attendee text NOT NULL CHECK (attendee <> ''),
	data text NOT NULL,			-- the COUNTER's VCALENDAR text
	received timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, uid, rid, attendee)
);

-- Requests waiting for the user's answer (section 3.1).  What arrives
-- can be derived from the objects and the counters; the table is kept
-- as a cache of that list, rewritten by the agent, in arrival order.
CREATE TABLE requests (
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	uid text NOT NULL,
	rid text NOT NULL DEFAULT '',
	kind text NOT NULL CHECK (kind IN ('request', 'counter', 'add', 'refresh')),
	arrival bigint GENERATED ALWAYS AS IDENTITY,	-- arrival order
	PRIMARY KEY (user_id, uid, rid)
);

-- Calendar parts already processed (section 3.2), so that a message
-- delivered twice changes nothing; entries older than 90 days go.
CREATE TABLE seen (
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	digest text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),	-- SHA-256
	processed timestamptz NOT NULL,
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

-- Replies composed but not yet handed to the MTA.  The agent writes a
-- reply here in the transaction that records the processing, and sends
-- it after the commit; a reply whose sending failed stays pending and is
-- retried, so a crash between commit and send loses no reply, and a
-- replayed message (seen) adds none.
CREATE TABLE outbox (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	created timestamptz NOT NULL DEFAULT now(),
	sender text NOT NULL,			-- envelope sender
	recipients text[] NOT NULL CHECK (cardinality(recipients) > 0),
	message bytea NOT NULL,			-- the RFC 5322 message as sent
	state text NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'sent', 'failed')),
	attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	last_attempt timestamptz,
	last_error text
);
CREATE INDEX outbox_pending ON outbox (user_id, created)
	WHERE state = 'pending';

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

-- limits: the most booked time per subject (an organiser, a group or *).
CREATE TABLE quota_limits (
	quota_id bigint NOT NULL REFERENCES quotas ON DELETE CASCADE,
	subject text NOT NULL CHECK (subject <> ''),
	seconds bigint NOT NULL CHECK (seconds > 0),
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
-- once (quota_reservations_booking); booked time is summed per
-- organiser (quota_reservations_organiser); update-quotas removes the
-- rows whose end has passed (quota_reservations_end).
CREATE TABLE quota_reservations (
	quota_id bigint NOT NULL REFERENCES quotas ON DELETE CASCADE,
	start_at timestamptz NOT NULL,
	end_at timestamptz NOT NULL,
	resource text NOT NULL CHECK (resource <> ''),
	uid text NOT NULL,
	rid text NOT NULL DEFAULT '',		-- '' = non-recurring event
	organiser text NOT NULL,
	CHECK (start_at < end_at),
	PRIMARY KEY (quota_id, resource, uid, rid, start_at, end_at)
);
CREATE INDEX quota_reservations_organiser
	ON quota_reservations (quota_id, organiser);
CREATE INDEX quota_reservations_end ON quota_reservations (quota_id, end_at);
