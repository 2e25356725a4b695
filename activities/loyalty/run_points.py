"""A run's points rules in ONE statement, with one earn movement per account (issue #17's benchmark).

``evaluation.evaluate`` wrote, per rule, one statement whose rows were an award, its own earn movement
and its event. Here every points rule of the run is one ``INSERT … SELECT … ON CONFLICT (rule, account,
period) DO NOTHING RETURNING`` over the union of the rules' qualifying accounts, and from the awards
actually inserted, in the same statement:

- ONE earn movement per account (the sum of the account's new awards; keyed ``award:<its first award>``,
  the form the per-award movements had, so a key never repeats). Each award names its movement
  (``loyalty_awards.movement_id``, migration 0046); the movement names its first award (``award_id``).
  The balances' trigger then fires once for the run with one row per account: no second, third, fourth
  update of the same balance.
- the ``loyalty.awarded`` events, one per award as before (the integrators' contract is unchanged; each
  now also carries ``movement_id``).

One statement, one transaction: a worker killed mid-way commits nothing; the retry inserts (and credits)
only what is missing, since the movements are made from the rows the INSERT returned. Rules of other
kinds are evaluated as before (pending awards for the pages), in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from activities.loyalty import evaluation
from domain import loyalty
from domain.events import API_VERSION
from domain.loyalty import RuleDefinition, points_expire_on
from models.loyalty import LoyaltyProgramme, LoyaltyRule

_PARAM = re.compile(r"(?<![:\w]):(\w+)\b")

RUN_POINTS_SQL = """
    with qual as (
        {union}
    ),
    per_account as (
        select q.account_id,
               :movement_ids || lpad((row_number() over (order by q.account_id))::text, 7, '0') as movement_id
        from qual q where q.points > 0 group by q.account_id
    ),
    done as (
        insert into loyalty_awards (id, organisation_id, rule_id, account_id, period_key, run_id, kind,
                                    points, qualified_by, status, created_at, applied_at, movement_id)
        select :id_base || lpad((row_number() over ())::text, 7, '0'), :org, q.rule_id, q.account_id,
               q.period_key, :run_id, 'points', q.points, q.qualified_by, 'applied', now(), :applied_at,
               case when q.points > 0 then pa.movement_id end
        from qual q left join per_account pa on pa.account_id = q.account_id
        on conflict (rule_id, account_id, period_key) do nothing
        returning id, organisation_id, rule_id, account_id, period_key, points, movement_id
    ),
    earned as (
        insert into loyalty_point_movements (id, organisation_id, account_id, kind, points, occurred_on,
                                             expires_on, award_id, reason, idempotency_key, created_at)
        select d.movement_id, min(d.organisation_id), d.account_id, 'earn', sum(d.points), :on,
               :expires_on, min(d.id), 'loyalty awards', 'award:' || min(d.id), now()
        from done d where d.movement_id is not null
        group by d.movement_id, d.account_id
        on conflict (idempotency_key) do nothing
    ),
    told as (
        insert into business_events (id, type, organisation_id, object_type, object_id, data, api_version,
                                     occurred_at)
        select :event_ids || lpad((row_number() over (order by d.id))::text, 7, '0'), 'loyalty.awarded',
               d.organisation_id, 'account', d.account_id,
               jsonb_build_object('award_id', d.id, 'rule_id', d.rule_id, 'account_id', d.account_id,
                                  'period', d.period_key, 'kind', 'points', 'points', d.points,
                                  'amount_minor', null, 'currency', null, 'offer_code', null,
                                  'movement_id', d.movement_id),
               :api_version, now()
        from done d
    )
    select d.rule_id, count(*) from done d group by d.rule_id
"""


def _suffixed(sql: str, params: dict[str, Any], suffix: str) -> tuple[str, dict[str, Any]]:
    """The rule's query with its bound parameters renamed ``<name><suffix>`` (rules share one statement)."""

    def rename(match: re.Match[str]) -> str:
        name = match.group(1)
        return f":{name}{suffix}" if name in params else match.group(0)

    return _PARAM.sub(rename, sql), {f"{k}{suffix}": v for k, v in params.items()}


def _rule_select(
    rule: LoyaltyRule, definition: RuleDefinition, period: str, n: int
) -> tuple[str, dict[str, Any]]:
    """One rule's qualifying rows as (rule_id, period_key, account_id, points, qualified_by)."""
    qualifying, params = evaluation.criterion_query(definition, period)
    points_sql, award_params = evaluation.points_expression(definition)
    sql = f"""
        select cast(:rule_id as varchar) as rule_id, cast(:period_key as varchar) as period_key, q.account_id,
               ({points_sql})::bigint as points, q.qualified_by
        from ({qualifying}) q join ({evaluation.OPERATOR_ACCOUNTS}) acc on acc.id = q.account_id
        where abs(hashtext(q.account_id)) % :parts = :part
    """  # noqa: S608 (fixed fragments only; values are bound parameters)
    values = {
        **params,
        **award_params,
        "rule_id": rule.id,
        "period_key": loyalty.award_period(definition.frequency, period),
    }
    return _suffixed(sql, values | {"orgs": None}, f"_r{n}")


def evaluate_run(
    session: Session,
    run_id: str,
    rules: Sequence[LoyaltyRule],
    period: str,
    on: date,
    part: int = 0,
    parts: int = 1,
) -> dict[str, int]:
    """Evaluate the run's rules for ``period``: the points rules in one statement (see the module) over
    the accounts of ``part`` (of ``parts``, by a hash of the account id: parts share no account, so they
    run in parallel transactions without waiting on each other's rows); the others one statement each
    (pending awards), in part 0. Rule id → awards inserted now."""
    inserted = {rule.id: 0 for rule in rules}
    points_rules: list[tuple[LoyaltyRule, RuleDefinition]] = []
    for rule in rules:
        definition = RuleDefinition.model_validate(rule.definition)
        if isinstance(definition.award, loyalty.PointsAward):
            points_rules.append((rule, definition))
        elif part == 0:
            inserted[rule.id] = evaluation.evaluate(session, run_id, rule, period, None)
    if not points_rules:
        return inserted
    organisation_id = points_rules[0][0].organisation_id
    orgs = evaluation.operator_tree(session, organisation_id)
    selects: list[str] = []
    values: dict[str, Any] = {}
    for n, (rule, definition) in enumerate(points_rules):
        sql, params = _rule_select(rule, definition, period, n)
        selects.append(sql)
        values |= params | {f"orgs_r{n}": orgs}
    programme = session.get(LoyaltyProgramme, organisation_id)
    values |= {
        "id_base": evaluation.batch_id_base("law"),
        "movement_ids": evaluation.batch_id_base("lpm"),
        "event_ids": evaluation.batch_id_base("evt"),
        "org": organisation_id,
        "run_id": run_id,
        "applied_at": datetime.now(UTC),
        "on": on,
        "expires_on": points_expire_on(on, programme.points_expiry_months if programme else None),
        "api_version": API_VERSION,
        "parts": parts,
        "part": part,
    }
    statement = RUN_POINTS_SQL.format(union="\n        union all\n".join(selects))
    for rule_id, count in session.execute(text(statement), values).all():
        inserted[rule_id] = int(count)
    return inserted
