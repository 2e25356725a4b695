"""Login throttles no attempt has touched for two days are pruned by the daily maintenance, and only those.

Rows dated in 1990 and a maintenance run dated 1990-03-01 (the cut-off is 1990-02-27 00:00 UTC), so
nothing here depends on today's date or on the rows other tests write.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from activities.identity import throttle
from activities.maintenance.activities import PartitionActivities
from activities.maintenance.io import MaintainPartitions
from activities.maintenance.retention import THROTTLE_IDLE, throttle_cutoff
from models.base import unit_of_work
from models.identity import LoginThrottle
from runtime.settings import Settings

RUN_ON = date(1990, 3, 1)


def test_the_cutoff_leaves_every_lock_behind_it() -> None:
    assert throttle_cutoff(RUN_ON) == datetime(1990, 2, 27, tzinfo=UTC)
    assert throttle_cutoff(date(2028, 3, 1)) == datetime(2028, 2, 28, tzinfo=UTC)
    # the longest lock ends MAX_LOCK after the failure that set it: a pruned row is never still locked
    assert THROTTLE_IDLE > throttle.MAX_LOCK


def test_quiet_throttles_are_pruned_and_the_next_attempt_counts_afresh(
    database_url: str, settings: Settings
) -> None:
    tag = uuid.uuid4().hex[:10]
    quiet, recent = f"email:org_{tag}:old@example.com", f"email:org_{tag}:new@example.com"
    address = f"ip:{tag}"
    last_quiet = datetime(1990, 2, 26, 23, 59, tzinfo=UTC)
    with unit_of_work(database_url) as session:
        session.add_all(
            [
                # locked for the longest lock by its last failure: over well before the cut-off
                LoginThrottle(
                    key=quiet,
                    failures=0,
                    lockouts=7,
                    window_started_at=last_quiet,
                    locked_until=last_quiet + throttle.MAX_LOCK,
                    updated_at=last_quiet,
                ),
                LoginThrottle(
                    key=address, failures=3, lockouts=0, window_started_at=last_quiet, updated_at=last_quiet
                ),
                LoginThrottle(
                    key=recent,
                    failures=2,
                    lockouts=1,
                    window_started_at=datetime(1990, 2, 27, tzinfo=UTC),
                    updated_at=datetime(1990, 2, 27, tzinfo=UTC),
                ),
            ]
        )

    maintenance = PartitionActivities(settings)
    done = maintenance.maintain(MaintainPartitions(on=RUN_ON, batch_size=1))
    assert done.throttles_pruned >= 2  # batches of one: the loop goes on past a full batch
    with unit_of_work(database_url) as session:
        kept = session.execute(
            select(LoginThrottle.key).where(LoginThrottle.key.in_([quiet, recent, address]))
        ).scalars()
        assert sorted(kept) == [recent]

        # the pruned e-mail starts from nothing: its next lockout is the first (15 minutes), not the 8th
        now = datetime(1990, 3, 1, 12, tzinfo=UTC)
        locked = None
        for _ in range(throttle.ACCOUNT_FAILURES):
            locked = throttle.record_failure(session, quiet, None, now)
        assert locked == now + throttle.FIRST_LOCK
        assert throttle.blocked(session, quiet, None, now + timedelta(minutes=1)) is not None

    assert maintenance.maintain(MaintainPartitions(on=RUN_ON)).throttles_pruned == 0
