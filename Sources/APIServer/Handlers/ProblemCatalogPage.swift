// Generated from Docs/problems.md by `PDX_WRITE_PROBLEMS_PAGE=1 swift test --filter ProblemCatalogTests`;
// the test fails while the two differ. Edit Docs/problems.md, not this file.

extension ProblemCatalog {
    /// `Docs/problems.md`, served at `GET /problems`: every problem's `type` points into it.
    static let page = ##"""
# Problem codes

Every error the API answers is an RFC 9457 `application/problem+json` object whose `code` is one of the codes below,
and whose `type` is `/problems#<code>`: a reference to this page, which the server serves at `GET /problems`
(relative to the request's URL, e.g. `http://127.0.0.1:8080/problems#not_found`). The list is the contract's
`ProblemCode` enum (`Contracts/openapi.yaml`); a test checks that both hold exactly the codes the server's code
enums hold, and that each has its section here. Each operation's 4xx answers in the contract name the codes it may carry.

Statuses: a code keeps its status; a few codes are answered with one status on one route and another elsewhere
(e.g. `dataset_not_found` is 404 on a dataset's own route and 422 inside a grant request), and each section lists both.
Every 503 comes with `Retry-After` and means nothing was written.

## actor_inactive

Status: 422 Unprocessable Content. `--actor` names a principal whose key is revoked or expired.

What to do: Name a principal whose key is active with `--actor` (command line only).

## actor_not_finance

Status: 422 Unprocessable Content. `--actor` names a principal without the finance role.

What to do: Name a finance principal with `--actor` (command line only).

## actor_not_found

Status: 422 Unprocessable Content. `--actor` names no principal.

What to do: Name an existing principal with `--actor` (command line only).

## agreement_scenario_mismatch

Status: 422 Unprocessable Content. An agreement template that does not govern the request's scenario (each template lists the scenarios it may govern: `AgreementTemplate/scenarios`).

What to do: Correct the value `detail` names and send the request again.

## already_decided

Status: 409 Conflict. The reviewer's authority has already decided on this grant.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## already_erased

Status: 409 Conflict. The personal datum was erased already.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## already_revoked

Status: 409 Conflict. The principal's key is revoked already.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## amount_limit_exceeded

Status: 403 Forbidden. Serving the call would take the grant's amount for the period past the money limit.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## amount_overflow

Status: 422 Unprocessable Content. An amount that does not fit 64 bits of minor units.

What to do: Correct the value `detail` names and send the request again.

## applicant_required

Status: 422 Unprocessable Content. The applicant principal id is empty.

What to do: Correct the value `detail` names and send the request again.

## application_exists

Status: 409 Conflict. The applicant, or the company by its unified social credit code, already has an application that is not rejected.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## approval_required

Status: 422 Unprocessable Content. A `conditional` dataset in a grant that lacks the approval of an authority providing data in it: what a dataset made `conditional` after its grant was approved leaves behind.

What to do: Correct the value `detail` names and send the request again.

## authentication_rate_limited

Status: 429 Too Many Requests. Too many failed authentications came from this client address.

What to do: Wait `Retry-After` seconds, then retry.

## authority_exists

Status: 409 Conflict. A store already holds an authority with this id.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## authority_not_allowed

Status: 403 Forbidden, 422 Unprocessable Content. A reviewer names another authority to publish for.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## authority_not_found

Status: 422 Unprocessable Content. The authority named does not exist.

What to do: Correct the value `detail` names and send the request again.

## authority_not_party

Status: 403 Forbidden. A reviewer acts on what another authority provides.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## authority_required

Status: 422 Unprocessable Content. An admin publishing names no authority.

What to do: Correct the value `detail` names and send the request again.

## awaiting_needs_reviewer

Status: 422 Unprocessable Content. `awaiting=me` was asked by a role that has no work queue (only authority reviewers have one).

What to do: Correct the value `detail` names and send the request again.

## batch_too_large

Status: 422 Unprocessable Content. A usage batch holds more events than the metering policy allows.

What to do: Correct the value `detail` names and send the request again.

## ceiling_prices_mismatch

Status: 422 Unprocessable Content. Ceiling prices that do not name exactly the dataset's units.

What to do: Correct the value `detail` names and send the request again.

## certification_duplicate

Status: 422 Unprocessable Content. The same certification is listed twice (compared without regard to case).

What to do: Correct the value `detail` names and send the request again.

## certification_invalid

Status: 422 Unprocessable Content. A certification is empty, too long, or has control characters or outer white space.

What to do: Correct the value `detail` names and send the request again.

## clock_backwards

Status: 422 Unprocessable Content. The test clock only moves forward.

What to do: Correct the value `detail` names and send the request again.

## concurrent_update

Status: 409 Conflict. A store refused an update because the stored operator is no longer at the revision the change was computed from; read it again and retry.

What to do: Read the record again and retry the change on what it is now.

## conflict

Status: 409 Conflict. A unique record written by a concurrent request.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## criteria_not_met

Status: 422 Unprocessable Content. An approval while a criterion fails; `VettingReason/criterion` says which.

What to do: Correct the value `detail` names and send the request again.

## database_unavailable

Status: 503 Service Unavailable. The database is out of reach or busy past the server's `--database-timeout`.

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## dataset_exists

Status: 409 Conflict. A store already holds a dataset with this id.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## dataset_not_found

Status: 404 Not Found, 422 Unprocessable Content. A request naming a dataset the catalog does not hold.

What to do: Check the id or path; list the collection to find what exists.

## dataset_not_in_grant

Status: 403 Forbidden, 422 Unprocessable Content. An amendment naming a dataset the grant does not include: a different set of datasets is a new request.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## dataset_not_served

Status: 409 Conflict. The dataset is delivered outside PDX (`declared`), or through the other route (a gateway dataset's upstream or an upstream dataset's records): PDX does not serve it there.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## datasets_required

Status: 422 Unprocessable Content. A grant request without datasets.

What to do: Correct the value `detail` names and send the request again.

## discrepancy

Status: none — a reason code only. One unacknowledged reconciliation line above tolerance; only ever one of the `reasons` of `unresolved_discrepancies`.

What to do: Acknowledge it (`POST /v1/reconciliation/{period}/acknowledgements`) or have the figures corrected.

## document_digest_invalid

Status: 422 Unprocessable Content. A document digest is not 64 lower-case hexadecimal characters.

What to do: Correct the value `detail` names and send the request again.

## document_duplicate

Status: 422 Unprocessable Content. Two documents have the same SHA-256 digest.

What to do: Correct the value `detail` names and send the request again.

## document_name_invalid

Status: 422 Unprocessable Content. A document name is empty, too long, or has control characters or outer white space.

What to do: Correct the value `detail` names and send the request again.

## documents_required

Status: 422 Unprocessable Content. No supporting document was given.

What to do: Correct the value `detail` names and send the request again.

## duplicate_column

Status: 422 Unprocessable Content. A column or member named twice.

What to do: Correct the value `detail` names and send the request again.

## duplicate_dataset

Status: 422 Unprocessable Content. The same dataset twice in one request.

What to do: Correct the value `detail` names and send the request again.

## duplicate_field

Status: 422 Unprocessable Content. The same field named twice.

What to do: Correct the value `detail` names and send the request again.

## duplicate_reviewer

Status: 409 Conflict. The reviewer has already approved in this round; a second approval must come from someone else.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## duplicate_unit

Status: 422 Unprocessable Content. The same unit listed twice.

What to do: Correct the value `detail` names and send the request again.

## earlier_period_open

Status: 409 Conflict. An earlier period with usage is still open; periods close in order.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## empty_release

Status: 422 Unprocessable Content. A release without a data row.

What to do: Correct the value `detail` names and send the request again.

## entry_too_large

Status: 422 Unprocessable Content. An entry's encoding is over 65,535 bytes.

What to do: Correct the value `detail` names and send the request again.

## events_required

Status: 422 Unprocessable Content. A usage batch holds no event.

What to do: Correct the value `detail` names and send the request again.

## expiry_in_past

Status: 422 Unprocessable Content. The key would expire before it is issued.

What to do: Correct the value `detail` names and send the request again.

## field_not_filterable

Status: 422 Unprocessable Content. A field is marked filterable but its type cannot be compared by equality as text.

What to do: Correct the value `detail` names and send the request again.

## field_not_granted

Status: 403 Forbidden. A field asked for (or filtered on) is not granted: it is refused, never silently dropped.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## field_sensitive

Status: 422 Unprocessable Content. A granted field its dataset marked `sensitive` after the grant was requested, without a justification for it: a sensitive field is granted only with one and its authority's approval. What marking a field sensitive leaves behind: the grant was suspended (or, pending, denied) then, and it cannot be reinstated or approved as it is.

What to do: The operator amends the grant (`POST /v1/grants/{id}/amendments`) with a justification for the field, or without the field; the authority then approves it.

## fields_required

Status: 422 Unprocessable Content. A dataset without fields, or a grant item asking for none.

What to do: Correct the value `detail` names and send the request again.

## filter_not_allowed

Status: 400 Bad Request. A filter on a field the dataset does not mark filterable.

What to do: Fix the request as `detail` says; sending it again unchanged fails again.

## forbidden

Status: 403 Forbidden. The caller's role may not call this operation.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## grade_core

Status: 422 Unprocessable Content. The dataset is graded `core`: never granted.

What to do: Correct the value `detail` names and send the request again.

## grant_exists

Status: 409 Conflict. A store already holds a grant with this id.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## grant_expired

Status: 403 Forbidden. The grant's term has ended.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## grant_not_active

Status: 403 Forbidden. The grant is not active (pending, denied, suspended or revoked).

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## grant_not_amendable

Status: 409 Conflict. Only a pending or suspended grant may be amended; an active, denied, revoked or expired one may not.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## grant_not_found

Status: 404 Not Found. A grant id no grant has.

What to do: Check the id or path; list the collection to find what exists.

## grant_not_owned

Status: 403 Forbidden. The grant is another operator's.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## grant_not_started

Status: 403 Forbidden. The grant's term has not begun.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## grant_required

Status: 400 Bad Request, 422 Unprocessable Content. `grant_id` is missing.

What to do: Fix the request as `detail` says; sending it again unchanged fails again.

## headers_too_large

Status: 431 Request Header Fields Too Large. The request target and header fields together are over the server's limit.

What to do: Send shorter headers or a shorter request target.

## idempotency_in_progress

Status: 409 Conflict. A request with this `Idempotency-Key` is still running (or ended less than 30 s ago in a process that died).

What to do: Retry after `Retry-After` with the same key and body to get the first request's answer.

## idempotency_key_reused

Status: 422 Unprocessable Content. This `Idempotency-Key` was used for another request (another path or body).

What to do: Use a new `Idempotency-Key` for a different request.

## index_out_of_range

Status: 422 Unprocessable Content. A leaf index not below the tree size.

What to do: Correct the value `detail` names and send the request again.

## internal_error

Status: 500 Internal Server Error. The server failed; nothing it could not undo was written. The log line with the same `X-Request-ID` says why.

What to do: Retry later; if it persists, report it with the answer's `X-Request-ID`.

## invalid_adjustment

Status: 422 Unprocessable Content. An adjustment of zero, or one that would take a party's part of the line below zero.

What to do: Correct the value `detail` names and send the request again.

## invalid_authority_id

Status: 422 Unprocessable Content. An authority id that is not 2–32 characters of `a-z 0-9 -` starting with a letter.

What to do: Correct the value `detail` names and send the request again.

## invalid_configuration

Status: 500 Internal Server Error. The log was set up without signers, or a signer's key cannot be used.

What to do: Retry later; if it persists, report it with the answer's `X-Request-ID`.

## invalid_csv

Status: 422 Unprocessable Content. CSV that breaks RFC 4180: a stray quote, text after a closing quote, an unclosed quote, a row with another number of cells than the header, a blank line between rows.

What to do: Correct the value `detail` names and send the request again.

## invalid_cursor

Status: 400 Bad Request, 422 Unprocessable Content. A paging cursor that no listing of this store handed out.

What to do: Fix the request as `detail` says; sending it again unchanged fails again.

## invalid_dataset_id

Status: 422 Unprocessable Content. A dataset id that is not 2–64 characters of `a-z 0-9 -` starting with a letter.

What to do: Correct the value `detail` names and send the request again.

## invalid_description

Status: 422 Unprocessable Content. A description that is too long or has control characters other than line feeds.

What to do: Correct the value `detail` names and send the request again.

## invalid_email

Status: 422 Unprocessable Content. The e-mail address is not one.

What to do: Correct the value `detail` names and send the request again.

## invalid_field_name

Status: 422 Unprocessable Content. A field name that is not 1–64 characters of `a-z 0-9 _` starting with a letter.

What to do: Correct the value `detail` names and send the request again.

## invalid_field_type

Status: 422 Unprocessable Content. A field type outside `FieldType`.

What to do: Correct the value `detail` names and send the request again.

## invalid_fields

Status: 400 Bad Request. `fields` is empty or names a field twice.

What to do: Fix the request as `detail` says; sending it again unchanged fails again.

## invalid_filter

Status: 400 Bad Request. A filter value is not of its field's type, or a field is filtered twice.

What to do: Fix the request as `detail` says; sending it again unchanged fails again.

## invalid_justification

Status: 422 Unprocessable Content. A justification with a control character other than a line feed.

What to do: Correct the value `detail` names and send the request again.

## invalid_name

Status: 422 Unprocessable Content. The name is blank, longer than 200 characters or holds control characters.

What to do: Correct the value `detail` names and send the request again.

## invalid_ndjson

Status: 422 Unprocessable Content. A line that is not one JSON object of scalar members.

What to do: Correct the value `detail` names and send the request again.

## invalid_party

Status: 422 Unprocessable Content. `party` is none of `authority:<id>`, `platform` or `operator:<id>`.

What to do: Correct the value `detail` names and send the request again.

## invalid_period

Status: 422 Unprocessable Content. Not a month, `YYYY-MM`.

What to do: Correct the value `detail` names and send the request again.

## invalid_platform_fee

Status: 422 Unprocessable Content. A platform fee outside 0–10000 basis points.

What to do: Correct the value `detail` names and send the request again.

## invalid_price

Status: 422 Unprocessable Content. A price that is not a decimal with at most six places, or above the largest accepted.

What to do: Correct the value `detail` names and send the request again.

## invalid_price_tiers

Status: 422 Unprocessable Content. Graduated prices that are not 2–10 steps with rising bounds and an open last step, or a unit priced both ways.

What to do: Correct the value `detail` names and send the request again.

## invalid_proof

Status: 422 Unprocessable Content. A proof does not verify.

What to do: Correct the value `detail` names and send the request again.

## invalid_purpose

Status: 422 Unprocessable Content. A purpose that is empty, too long, or has control characters other than line feeds.

What to do: Correct the value `detail` names and send the request again.

## invalid_quota

Status: 422 Unprocessable Content. A quota that is not a positive integer, a unit priced without a quota, or a quota for a unit that is not priced.

What to do: Correct the value `detail` names and send the request again.

## invalid_reason

Status: 422 Unprocessable Content. A reason holds a control character.

What to do: Correct the value `detail` names and send the request again.

## invalid_record

Status: 422 Unprocessable Content. A record cannot be encoded: empty actor or action, or data without a canonical form.

What to do: Correct the value `detail` names and send the request again.

## invalid_region

Status: 422 Unprocessable Content. An authority region that is empty, too long, or has control characters or outer white space.

What to do: Correct the value `detail` names and send the request again.

## invalid_release_version

Status: 422 Unprocessable Content. A version that is not 1–64 characters of `A-Z a-z 0-9 . _ -` starting with a letter or digit.

What to do: Correct the value `detail` names and send the request again.

## invalid_report

Status: 500 Internal Server Error. A report (JSON or CSV) that is malformed, misses a member or column, or whose amounts do not reconcile.

What to do: Retry later; if it persists, report it with the answer's `X-Request-ID`.

## invalid_request

Status: 400 Bad Request. The request is malformed: JSON that does not parse or does not fit the schema, an unknown member, a bad query parameter or header, or bytes the HTTP parser refuses.

What to do: Fix the request as `detail` says; sending it again unchanged fails again.

## invalid_revenue_cap

Status: 422 Unprocessable Content. A revenue cap that is negative or of a year out of range.

What to do: Correct the value `detail` names and send the request again.

## invalid_subject

Status: 422 Unprocessable Content. `subject` is none of `principal:<id>` or `operator:<id>`.

What to do: Correct the value `detail` names and send the request again.

## invalid_term

Status: 422 Unprocessable Content. A term whose end is not after its start.

What to do: Correct the value `detail` names and send the request again.

## invalid_theme

Status: 422 Unprocessable Content. A theme that is not 2–40 characters of `a-z 0-9 -` starting with a letter.

What to do: Correct the value `detail` names and send the request again.

## invalid_title

Status: 422 Unprocessable Content. A title that is empty, too long, or has control characters or outer white space.

What to do: Correct the value `detail` names and send the request again.

## invalid_transition

Status: 409 Conflict. The step is not allowed from the operator's status, e.g. reviewing a revoked operator.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## invalid_upstream_credential

Status: 422 Unprocessable Content. A credential header name that is not an HTTP field name PDX may send, or a secret that is empty, too long or not a valid field value.

What to do: Correct the value `detail` names and send the request again.

## invalid_upstream_path

Status: 400 Bad Request. An upstream path that could leave the dataset's base path or change the host: `..` or `.` segments, `//`, backslashes, encoded slashes, backslashes or dots, characters a path may not hold unencoded.

What to do: Fix the request as `detail` says; sending it again unchanged fails again.

## invalid_upstream_query

Status: 400 Bad Request. A query parameter that cannot be forwarded as given: characters a query may not hold unencoded, or a malformed escape.

What to do: Fix the request as `detail` says; sending it again unchanged fails again.

## invalid_upstream_url

Status: 422 Unprocessable Content. An upstream base URL that is not an absolute http(s) URL with a host, without user information, query or fragment.

What to do: Correct the value `detail` names and send the request again.

## invalid_value

Status: 422 Unprocessable Content. A value that does not fit its field's type.

What to do: Correct the value `detail` names and send the request again.

## justification_not_applicable

Status: 422 Unprocessable Content. A justification for a field the item does not request, or for one that is not `sensitive`.

What to do: Correct the value `detail` names and send the request again.

## justification_required

Status: 422 Unprocessable Content. A requested field marked `sensitive` without a justification, or a justification that is blank.

What to do: Correct the value `detail` names and send the request again.

## justification_too_long

Status: 422 Unprocessable Content. A justification longer than `GrantPolicy/maxJustificationLength` characters.

What to do: Correct the value `detail` names and send the request again.

## key_rotation_in_progress

Status: 409 Conflict. A key rollover is already under way: finish it before beginning another.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## legal_name_invalid

Status: 422 Unprocessable Content. The legal name has a control character or leading or trailing white space.

What to do: Correct the value `detail` names and send the request again.

## legal_name_required

Status: 422 Unprocessable Content. The legal name is empty.

What to do: Correct the value `detail` names and send the request again.

## legal_name_too_long

Status: 422 Unprocessable Content. The legal name is longer than `OperatorApplication/maxLegalNameLength` characters.

What to do: Correct the value `detail` names and send the request again.

## line_not_found

Status: 422 Unprocessable Content. The corrected line does not exist in a closed period before the adjustment's.

What to do: Correct the value `detail` names and send the request again.

## load_superseded

Status: 409 Conflict. The load was taken over by another after it stalled.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## log_corrupt

Status: 503 Service Unavailable. Stored log data is unreadable or incomplete (a missing node, a malformed head or note).

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## log_inconsistent

Status: 503 Service Unavailable. The stored tree does not extend the last signed checkpoint; nothing was signed.

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## log_read_only

Status: 503 Service Unavailable. The log refuses writes: its integrity check or a consistency check failed.

What to do: Operators of the server: see `Docs/operations.md` (the integrity check and `/readyz`); clients: retry later.

## log_rolled_back

Status: 503 Service Unavailable. The database holds less, or other, history than the checkpoint this data directory last saw (`checkpoint.witness`): an old backup was restored. The log refuses writes.

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## malformed_entry

Status: 500 Internal Server Error. Bytes are not a canonical entry.

What to do: Retry later; if it persists, report it with the answer's `X-Request-ID`.

## metering_conflict

Status: 503 Service Unavailable. The call's events could not be told apart from others: try again.

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## method_not_allowed

Status: 405 Method Not Allowed. The path exists but not with this method.

What to do: Use a method the contract lists for the path.

## missing_column

Status: 422 Unprocessable Content. A field of the dataset without its column or member.

What to do: Correct the value `detail` names and send the request again.

## missing_node

Status: 422 Unprocessable Content. A node the proof needs is not stored.

What to do: Correct the value `detail` names and send the request again.

## mlps_level_out_of_range

Status: 422 Unprocessable Content. The MLPS (等保) level is not 1 to 5.

What to do: Correct the value `detail` names and send the request again.

## no_change

Status: 422 Unprocessable Content. A change that changes nothing.

What to do: Correct the value `detail` names and send the request again.

## no_discrepancy

Status: 409 Conflict. The reconciliation line is not a discrepancy above tolerance: nothing to acknowledge.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## no_key_rotation

Status: 409 Conflict. No key rollover is under way, so there is nothing to finish.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## not_acceptable

Status: 406 Not Acceptable. No representation matches the request's `Accept`.

What to do: Accept one of the media types the contract lists.

## not_found

Status: 404 Not Found. The resource named does not exist, or is not the caller's to see (an operator asking for another operator's records gets this too).

What to do: Check the id or path; list the collection to find what exists.

## openness_closed

Status: 422 Unprocessable Content. The dataset is `closed` (不予开放): never granted.

What to do: Correct the value `detail` names and send the request again.

## operator_amount_limit

Status: 422 Unprocessable Content. With the operator's other grants that are not over, it could charge more in one period than `MoneyLimits/operatorPeriodMinor`.

What to do: Correct the value `detail` names and send the request again.

## operator_exists

Status: 409 Conflict. A store already holds an operator with this id.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## operator_not_active

Status: 403 Forbidden, 422 Unprocessable Content. The operator is not approved, or its approval term has ended.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## operator_not_found

Status: 404 Not Found. A store found no operator with the requested id.

What to do: Check the id or path; list the collection to find what exists.

## operator_required

Status: 403 Forbidden. The key acts for no operator yet.

What to do: Apply as an operator first (`POST /v1/operators`).

## operator_suspended

Status: 403 Forbidden. The key's operator is suspended or revoked.

What to do: Wait until the operator is reinstated; read-only routes stay open.

## payload_too_large

Status: 413 Content Too Large. The body is over the server's limit for JSON bodies.

What to do: Send a smaller body (split a batch).

## period_amount_limit

Status: 422 Unprocessable Content. The grant's quotas at its prices could charge more in one period than `MoneyLimits/grantPeriodMinor`.

What to do: Correct the value `detail` names and send the request again.

## period_closed

Status: 409 Conflict. The period is closed: it never changes.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## period_not_closed

Status: 404 Not Found. The period has not been closed, so it has no report.

What to do: Close the period first (`POST /v1/settlements/{period}/close`).

## period_not_ended

Status: 409 Conflict. The period has not ended yet, or is still within its grace.

What to do: Wait until the period has ended in the marketplace's time zone.

## precondition_failed

Status: 412 Precondition Failed. `If-Match` names a revision the resource is no longer at: someone changed it after you read it.

What to do: Read the resource again (its `ETag`), decide again on what it is now, and send the new tag.

## price_above_ceiling

Status: 422 Unprocessable Content. A unit price above the dataset's ceiling for that unit.

What to do: Correct the value `detail` names and send the request again.

## prices_fixed

Status: 409 Conflict. The amendment changes the prices of a grant that has been in force: its money terms were fixed at its activation; new prices are a new request.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## public_interest_priced

Status: 422 Unprocessable Content. A `public_interest` grant with a price other than zero.

What to do: Correct the value `detail` names and send the request again.

## quota_exceeded

Status: 403 Forbidden. Serving the call would take a unit past the grant's quota for the period.

What to do: Wait for the next period, or amend the grant's quota.

## rate_limited

Status: 429 Too Many Requests. This API key sent more requests than its rate allows.

What to do: Wait `Retry-After` seconds, then retry.

## reason_required

Status: 422 Unprocessable Content. Rejecting, suspending and revoking need a non-blank reason.

What to do: Correct the value `detail` names and send the request again.

## reason_too_long

Status: 422 Unprocessable Content. A reason is longer than `VettingPolicy/maxReasonLength` characters.

What to do: Correct the value `detail` names and send the request again.

## release_exists

Status: 409 Conflict. The dataset has this version already, or a load of it is under way.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## release_not_found

Status: 404 Not Found. The dataset has no published release of that version (or none at all).

What to do: Check the id or path; list the collection to find what exists.

## release_too_large

Status: 413 Content Too Large. More bytes than `ReleasePolicy/maxBytes`.

What to do: Send a smaller body (split a batch).

## replay_failed

Status: 500 Internal Server Error. A stored operator's audit records cannot be replayed: an unknown action, a missing or mistyped member, or records out of order.

What to do: Retry later; if it persists, report it with the answer's `X-Request-ID`.

## retry

Status: 503 Service Unavailable. A concurrent change won; the request may be retried as it is.

What to do: Send the same request again.

## revenue_share_out_of_range

Status: 422 Unprocessable Content. A revenue-return share outside 0–10000 basis points.

What to do: Correct the value `detail` names and send the request again.

## reviewer_without_authority

Status: 403 Forbidden. Only principals acting for an authority may review; platform admins may suspend, reinstate and revoke but not review.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## row_too_long

Status: 422 Unprocessable Content. A line or record longer than `ReleasePolicy/maxRowBytes`.

What to do: Correct the value `detail` names and send the request again.

## second_authority_required

Status: 409 Conflict. The revocation was proposed by this reviewer's authority; another authority or an admin completes it.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## security_officer_email_invalid

Status: 422 Unprocessable Content. The security officer's e-mail address does not have the shape `local@domain.tld`.

What to do: Correct the value `detail` names and send the request again.

## security_officer_name_invalid

Status: 422 Unprocessable Content. The security officer's name is too long or has control characters or outer white space.

What to do: Correct the value `detail` names and send the request again.

## security_officer_name_required

Status: 422 Unprocessable Content. The security officer's name is empty.

What to do: Correct the value `detail` names and send the request again.

## self_review

Status: 403 Forbidden. The reviewer is party to the application: the principal that applied.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## self_revocation

Status: 409 Conflict. An admin would revoke its own key.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## service_unavailable

Status: 503 Service Unavailable. The server cannot take the request now.

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## signing_failed

Status: 500 Internal Server Error. Signing a checkpoint failed.

What to do: Retry later; if it persists, report it with the answer's `X-Request-ID`.

## signing_key_mismatch

Status: 503 Service Unavailable. The latest checkpoint is not signed by this log's keys: another process on the same database signs with a key of its own. Nothing was signed; the log turned read-only.

What to do: Operators of the server: give every instance the same signing key; clients: retry later.

## signing_key_retired

Status: 503 Service Unavailable. None of this process's signing keys is in force any more: the rotation was finished elsewhere. The log refuses writes rather than sign with a retired key.

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## size_out_of_range

Status: 422 Unprocessable Content. A tree size beyond the current log size, or an old size of 0 or above the new size.

What to do: Correct the value `detail` names and send the request again.

## stale_version

Status: 409 Conflict. The amendment names a version other than the grant's current one: it was made against a stale copy.

What to do: Read the resource's current state and decide again; the request conflicts with it as it is.

## storage_full

Status: 503 Service Unavailable. The disk or the database's size limit is full.

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## storage_read_only

Status: 503 Service Unavailable. The database refuses writes: a read-only file, mount or standby.

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## suspended_by_other

Status: 403 Forbidden. Only the authority that suspended the operator (or grant), or a platform admin, may reinstate it; only an admin lifts an admin's suspension.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## term_ended

Status: 422 Unprocessable Content. A term that has already ended.

What to do: Correct the value `detail` names and send the request again.

## term_too_long

Status: 422 Unprocessable Content. A term longer than `GrantPolicy/maxTermDays`.

What to do: Correct the value `detail` names and send the request again.

## tier_insufficient

Status: 422 Unprocessable Content. The operator's tier does not allow the dataset's grade (`standard` may use `general` only).

What to do: Correct the value `detail` names and send the request again.

## tolerance_out_of_range

Status: 422 Unprocessable Content. A reconciliation tolerance outside 0–10000 basis points.

What to do: Correct the value `detail` names and send the request again.

## too_many_certifications

Status: 422 Unprocessable Content. More certifications than `OperatorApplication/maxCertifications`.

What to do: Correct the value `detail` names and send the request again.

## too_many_datasets

Status: 422 Unprocessable Content. More datasets in one request than `GrantPolicy/maxDatasetsPerGrant`.

What to do: Correct the value `detail` names and send the request again.

## too_many_documents

Status: 422 Unprocessable Content. More documents than `OperatorApplication/maxDocuments`.

What to do: Correct the value `detail` names and send the request again.

## too_many_fields

Status: 422 Unprocessable Content. More fields than `CatalogPolicy/maxFields`.

What to do: Correct the value `detail` names and send the request again.

## unauthenticated

Status: 401 Unauthorized. No API key was sent, or the key is malformed, unknown, expired or revoked.

What to do: Send `Authorization: Bearer <api key>` with a valid key; ask an admin for a new key if yours was revoked or expired.

## unit_not_granted

Status: 403 Forbidden. The grant does not cover this unit of the dataset.

What to do: Use a key whose role, authority or operator may do this; retrying with the same key fails again.

## unit_not_offered

Status: 422 Unprocessable Content. A unit the dataset is not metered in.

What to do: Correct the value `detail` names and send the request again.

## unit_prices_required

Status: 422 Unprocessable Content. A grant item without unit prices: it would grant no unit.

What to do: Correct the value `detail` names and send the request again.

## units_required

Status: 422 Unprocessable Content. A dataset without metering units.

What to do: Correct the value `detail` names and send the request again.

## unknown_agreement

Status: 422 Unprocessable Content. A data-use agreement template id and version that `Contracts/agreements/` does not hold.

What to do: Correct the value `detail` names and send the request again.

## unknown_column

Status: 422 Unprocessable Content. A column or member that names no field of the dataset.

What to do: Correct the value `detail` names and send the request again.

## unknown_field

Status: 400 Bad Request, 422 Unprocessable Content. A requested field the dataset does not have, or a dataset change (`PATCH /v1/datasets/{id}` `fields`) naming one.

What to do: Fix the request as `detail` says; sending it again unchanged fails again.

## unknown_unit

Status: 422 Unprocessable Content. A unit outside `call`, `record`, `byte`.

What to do: Correct the value `detail` names and send the request again.

## unresolved_discrepancies

Status: 409 Conflict. The period has discrepancies above tolerance that finance has not acknowledged; each is one of the problem's `reasons`.

What to do: Acknowledge each listed discrepancy, or have the figures corrected, then close again.

## unsupported_currency

Status: 422 Unprocessable Content. A currency other than the marketplace's.

What to do: Correct the value `detail` names and send the request again.

## unsupported_media_type

Status: 415 Unsupported Media Type. The body's `Content-Type` is not one the operation takes.

What to do: Send the body with a `Content-Type` the operation takes.

## upstream_address_not_allowed

Status: 422 Unprocessable Content, 502 Bad Gateway. An upstream base URL whose host is an IP literal in a range PDX does not forward to (loopback, private, link-local, unique-local, multicast, unspecified, reserved) on a server started without `--upstream-allow-private`.

What to do: Correct the value `detail` names and send the request again.

## upstream_credential_unavailable

Status: 503 Service Unavailable. The dataset's credential cannot be opened: the data directory's `upstream-key` is not the one it was sealed with, or missing.

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## upstream_failed

Status: 502 Bad Gateway. The authority's interface could not be reached, or answered with a status other than 2xx.

What to do: The authority's upstream interface failed; retry later, or tell the authority.

## upstream_key_missing

Status: 503 Service Unavailable. The data directory holds no `upstream-key`: no upstream credential can be sealed.

What to do: Retry after `Retry-After` seconds with the same event ids or `Idempotency-Key`; nothing was written.

## upstream_malformed

Status: 502 Bad Gateway. The answer was not JSON records: `{"records":[{…},…]}` or `[{…},…]`.

What to do: The authority's upstream interface failed; retry later, or tell the authority.

## upstream_not_applicable

Status: 422 Unprocessable Content. An upstream endpoint given for a dataset whose delivery is not `upstream`.

What to do: Correct the value `detail` names and send the request again.

## upstream_redirect

Status: 502 Bad Gateway. The authority's interface answered with a redirect; PDX never follows one.

What to do: The authority's upstream interface failed; retry later, or tell the authority.

## upstream_required

Status: 422 Unprocessable Content. Delivery `upstream` without the endpoint, header and (the first time) secret it needs.

What to do: Correct the value `detail` names and send the request again.

## upstream_timeout

Status: 504 Gateway Timeout. The authority's interface did not answer within the configured time.

What to do: The upstream interface did not answer in time; retry later.

## upstream_too_large

Status: 502 Bad Gateway. The answer was larger than the configured limit; PDX stopped reading it.

What to do: The authority's upstream interface failed; retry later, or tell the authority.

## uscc_check_character

Status: 422 Unprocessable Content. The 18th character is not the check character GB 32100-2015 computes from the first 17.

What to do: Correct the value `detail` names and send the request again.

## uscc_forbidden_character

Status: 422 Unprocessable Content. A unified social credit code with a character outside `0-9 A-H J-N P-R T U W-Y`.

What to do: Correct the value `detail` names and send the request again.

## uscc_length

Status: 422 Unprocessable Content. A unified social credit code that is not 18 characters long.

What to do: Correct the value `detail` names and send the request again.

## uscc_lowercase

Status: 422 Unprocessable Content. A unified social credit code with a lower-case letter; codes are upper case and are not silently converted.

What to do: Correct the value `detail` names and send the request again.

## uscc_region_code

Status: 422 Unprocessable Content. Characters 3–8 (the registering authority's administrative division code) are not all digits.

What to do: Correct the value `detail` names and send the request again.
"""##
}
