DROP TRIGGER IF EXISTS mla_stats_request ON mla_requests_request;
DROP TRIGGER IF EXISTS mla_stats_deadline ON mla_requests_deadline;
DROP TRIGGER IF EXISTS mla_stats_offence ON mla_requests_requestoffence;
DROP TRIGGER IF EXISTS mla_stats_follow_up_added ON mla_requests_auditentry;
DROP TRIGGER IF EXISTS mla_stats_follow_up_removed ON mla_requests_auditentry;
DROP FUNCTION IF EXISTS mla_stats_compact();
DROP FUNCTION IF EXISTS mla_stats_add_requests(bigint[]);
DROP FUNCTION IF EXISTS mla_stats_follow_up_changed();
DROP FUNCTION IF EXISTS mla_stats_offence_changed();
DROP FUNCTION IF EXISTS mla_stats_count_offence(bigint, varchar, integer);
DROP FUNCTION IF EXISTS mla_stats_deadline_changed();
DROP FUNCTION IF EXISTS mla_stats_request_changed();
DROP FUNCTION IF EXISTS mla_stats_add_duration(mla_requests_request, varchar);
DROP FUNCTION IF EXISTS mla_stats_count_deadline(
    mla_requests_request, varchar, varchar, varchar, boolean, integer
);
DROP FUNCTION IF EXISTS mla_stats_count_request(mla_requests_request, varchar, boolean, integer);
DROP FUNCTION IF EXISTS mla_stats_followed_up(bigint);
DROP FUNCTION IF EXISTS mla_stats_offences(bigint);
DROP FUNCTION IF EXISTS mla_stats_bump_deadline(
    bigint, varchar, varchar, date, varchar, varchar, varchar, boolean, integer
);
DROP FUNCTION IF EXISTS mla_stats_bump_request(
    bigint, varchar, varchar, date, varchar, varchar, bigint, varchar, varchar, boolean, integer
);
DROP FUNCTION IF EXISTS mla_stats_lock_deadlines(bigint, boolean);
DROP FUNCTION IF EXISTS mla_stats_instant(varchar, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS mla_stats_owner(varchar, bigint, bigint);
DROP FUNCTION IF EXISTS mla_stats_day(timestamptz);
DROP FUNCTION IF EXISTS mla_stats_on();
