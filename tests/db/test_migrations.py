"""The migration runner: idempotent, checksum-guarded, serialised; fresh == upgraded == snapshot."""

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from huntsman import migrations, schema


def test_migrate_twice_changes_nothing(make_database: Callable[..., str]) -> None:
    url = make_database(migrated=False)
    first = migrations.migrate(url)
    assert first == [m.name for m in migrations.load_migrations()]
    before = schema.describe(url)
    assert migrations.migrate(url) == []
    assert schema.describe(url) == before


def test_status_reports_pending_then_applied(make_database: Callable[..., str]) -> None:
    url = make_database(migrated=False)
    assert all(not s.applied for s in migrations.status(url))
    migrations.migrate(url)
    assert all(s.applied and not s.changed for s in migrations.status(url))


def test_db_status_reports_the_compiled_plans(
    make_database: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from huntsman import cli

    url = make_database()
    assert migrations.compiled_status(url) == migrations.CompiledStatus({}, [], 0)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO cfg.domain (name) VALUES ('a.example'), ('b.example')")
        conn.commit()  # compiled at commit
        conn.execute(
            "UPDATE routing.plan_domain p SET state = 'failed', error = 'boom' FROM cfg.domain d "
            "WHERE d.id = p.domain_id AND d.name = 'b.example'"
        )
        conn.commit()
    status = migrations.compiled_status(url)
    assert status == migrations.CompiledStatus(
        {"fresh": 1, "failed": 1}, [("b.example", "boom")], 0
    )
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert "compiled plans (domains): 1 failed, 1 fresh" in out
    assert "failed: b.example: boom" in out
    migrations.migrate(url)  # recompiles what failed
    assert migrations.compiled_status(url) == migrations.CompiledStatus({"fresh": 2}, [], 0)


def test_committed_snapshot_equals_fresh_install(migrated_db_url: str) -> None:
    snapshot = schema.SNAPSHOT_PATH.read_text(encoding="utf-8")
    fresh = schema.describe(migrated_db_url)
    assert fresh == snapshot, (
        "db/sql/schema.snapshot.txt is stale: run `huntsman db snapshot` and review the diff"
    )


def test_upgraded_install_equals_fresh_install(make_database: Callable[..., str]) -> None:
    names = [m.name for m in migrations.load_migrations()]
    fresh_url = make_database(migrated=False)
    migrations.migrate(fresh_url)
    fresh = schema.describe(fresh_url)
    for stop_after in names[:-1]:
        url = make_database(migrated=False)
        migrations.migrate(url, target=stop_after, routines=False)
        migrations.migrate(url)
        assert schema.describe(url) == fresh, f"upgrade from {stop_after} differs from fresh"


def test_edited_migration_is_refused(
    make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = make_database(migrated=False)
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_one.sql").write_text("CREATE TABLE t_one (id int);")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", directory)
    monkeypatch.setattr(migrations, "load_routines", lambda directory=None: [])
    original = migrations.load_migrations

    def load(directory_arg: Path = directory) -> list[migrations.Migration]:
        return original(directory_arg)

    monkeypatch.setattr(migrations, "load_migrations", load)
    assert migrations.migrate(url) == ["0001_one"]
    (directory / "0001_one.sql").write_text("CREATE TABLE t_one (id bigint);")
    (directory / "0002_two.sql").write_text("CREATE TABLE t_two (id int);")
    with pytest.raises(migrations.MigrationError, match="0001_one.*edited after it was applied"):
        migrations.migrate(url)
    with psycopg.connect(url) as conn:  # nothing after the refusal ran
        assert conn.execute("SELECT to_regclass('t_two')").fetchone() == (None,)


def test_failed_migration_rolls_back_its_own_transaction(
    make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = make_database(migrated=False)
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_ok.sql").write_text("CREATE TABLE t_ok (id int);")
    (directory / "0002_bad.sql").write_text("CREATE TABLE t_half (id int); SELECT 1/0;")
    original = migrations.load_migrations
    monkeypatch.setattr(migrations, "load_migrations", lambda d=None: original(directory))
    monkeypatch.setattr(migrations, "load_routines", lambda directory=None: [])
    with pytest.raises(migrations.MigrationError, match="0002_bad.*division by zero"):
        migrations.migrate(url)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('t_ok') IS NOT NULL").fetchone() == (True,)
        assert conn.execute("SELECT to_regclass('t_half')").fetchone() == (None,)
        applied = conn.execute("SELECT name FROM huntsman_meta.migration").fetchall()
    assert applied == [("0001_ok",)]


def test_badly_named_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_oops.sql").write_text("SELECT 1;")
    with pytest.raises(migrations.MigrationError, match="NNNN_name.sql"):
        migrations.load_migrations(tmp_path)


def test_concurrent_migrators_apply_each_migration_once(make_database: Callable[..., str]) -> None:
    import gevent

    url = make_database(migrated=False)
    results = [gevent.spawn(migrations.migrate, url) for _ in range(3)]
    gevent.joinall(results, raise_error=True)
    applied = [name for g in results for name in g.value]
    assert sorted(applied) == sorted(m.name for m in migrations.load_migrations())
