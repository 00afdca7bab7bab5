"""The offline signed monthly exchange: centres export a month, the province imports it into its registry.

Real ledgers (issued through the library's Batch, each centre with its own key), real files, the CLI.
"""

import datetime as dt
import json
import shutil
import sqlite3

import pytest

from fjvoucher.ledger.store import Ledger
from support import Clock, run
from support.synthetic import make_candidates

CENTRES = {"3501": "福州市", "3502": "厦门市"}


@pytest.fixture
def keys(tmp_path):
    """Return a key file per centre and the province's (made on first use by the ledger that needs it)."""
    return {name: tmp_path / "keys" / f"{name}.pem" for name in (*CENTRES, "province")}


@pytest.fixture
def act_as(monkeypatch, keys):
    """Return a function that makes the test act as a centre or the province (its key signs)."""
    def act(name):
        monkeypatch.setenv("FJVOUCHER_KEY", str(keys[name]))
    return act


def issue(ledger_path, centre, rows, clock):
    """Issue `rows` as `centre` through the ledger's Batch at the clock's time."""
    with Ledger(ledger_path, clock=clock) as ledger, ledger.batch() as batch:
        batch.issue([{**{k: str(v) for k, v in r.items() if k != "voucher_no"}, "issued_on": clock().date(),
                      "batch_file": "b.docx", "page": i + 1} for i, r in enumerate(rows)],
                    template_sha256="t" * 64, center_code=centre)


def candidates(centre, count, seed):
    rows = make_candidates(count, seed=seed, city=CENTRES[centre])
    for row in rows:
        row["certificate_no"] = row["certificate_no"][:11] + str(seed % 10) + row["certificate_no"][12:]
    return rows


@pytest.fixture
def centres(tmp_path, act_as):
    """Two centres, each two months (November and December 2026) in its own ledger; return their paths."""
    paths = {}
    for seed, centre in enumerate(CENTRES):
        act_as(centre)
        path = paths[centre] = tmp_path / f"{centre}.db"
        clock = Clock(dt.datetime(2026, 11, 10, 9))
        issue(path, centre, candidates(centre, 4, seed * 10 + 1), clock)
        clock.set(2026, 12, 3, 10)
        issue(path, centre, candidates(centre, 3, seed * 10 + 2), clock)
        with Ledger(path, clock=clock) as ledger:
            ledger.revoke(f"{centre}-2026-000002", "实为不合格")
    return paths


def export(act_as, tmp_path, paths, centre, month):
    act_as(centre)
    target = tmp_path / "sent" / f"{centre}-{month}.fjv"
    target.parent.mkdir(exist_ok=True)
    result = run("export", "--month", month, "-o", target, "--ledger", paths[centre])
    assert result.exit_code == 0, result.output
    return target


@pytest.fixture
def registry(tmp_path, act_as, centres, keys):
    """The province's registry with both centres' keys listed (read from the files `config key` writes)."""
    for centre in CENTRES:
        act_as(centre)
        assert run("config", "key", "-o", tmp_path / f"{centre}.pub").exit_code == 0
    act_as("province")
    path = tmp_path / "province.db"
    for centre in CENTRES:
        result = run("province", "keys", "add", centre, tmp_path / f"{centre}.pub", "--ledger", path)
        assert result.exit_code == 0, result.output
    return path


def files(act_as, tmp_path, centres):
    return [export(act_as, tmp_path, centres, c, m) for c in CENTRES for m in ("2026-11", "2026-12")]


def import_(act_as, registry, *paths):
    act_as("province")
    return run("province", "import", *paths, "--ledger", registry)


def content(path):
    """Return every table's rows of a ledger file, for comparing before and after."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


def test_two_centres_two_months_round_trip_into_a_registry_that_proves_itself(tmp_path, act_as, centres, registry):
    sent = files(act_as, tmp_path, centres)
    result = import_(act_as, registry, *reversed(sent))  # the order given does not matter
    assert result.exit_code == 0, result.output
    assert result.output.count("(imported)") == 4
    assert "新增 16 条事件" in result.output  # 7 issues and 1 revocation a centre
    act_as("province")
    audited = run("audit", "--ledger", registry)
    assert audited.exit_code == 0 and "16 条事件，14 张凭证" in audited.output, audited.output
    with Ledger(registry) as ledger, Ledger(centres["3501"], readonly=True) as centre:
        assert ledger.get("3502-2026-000002").status == "revoked"
        assert ledger.get("3501-2026-000007").fields == centre.get("3501-2026-000007").fields
        name = ledger.get("3501-2026-000001").fields["name"]
    answer = run("verify", "3501-2026-000001", "--name", name, "--ledger", registry, "--format", "json")
    assert answer.exit_code == 0 and json.loads(answer.stdout)["status"] in ("genuine", "expired"), answer.output
    assert run("province", "duplicates", "--ledger", registry).exit_code == 0
    upload = run("province", "upload", "--month", "2026-11", "--check", "--ledger", registry)
    assert "证书记录 8 条" in upload.output, upload.output


def test_the_same_file_twice_changes_nothing(tmp_path, act_as, centres, registry):
    sent = files(act_as, tmp_path, centres)
    assert import_(act_as, registry, *sent).exit_code == 0
    before = content(registry)
    again = import_(act_as, registry, *sent)
    assert again.exit_code == 0 and again.output.count("already imported") == 4, again.output
    assert content(registry) == before


def test_exporting_a_month_twice_gives_the_same_bytes_owner_only(tmp_path, act_as, centres):
    first = export(act_as, tmp_path, centres, "3501", "2026-11").read_bytes()
    second = export(act_as, tmp_path, centres, "3501", "2026-11")
    assert second.read_bytes() == first and second.stat().st_mode & 0o077 == 0
    doc = json.loads(first)
    assert doc["format"] == "fjvoucher-exchange-1" and doc["from"]["count"] == 0 and doc["to"]["count"] == 4


def test_export_never_replaces_a_file_it_did_not_write(tmp_path, act_as, centres):
    act_as("3501")
    other = tmp_path / "notes.fjv"
    other.write_text("the clerk's notes", encoding="utf-8")
    result = run("export", "--month", "2026-11", "-o", other, "--ledger", centres["3501"])
    assert result.exit_code == 2 and "不是 fjvoucher 导出的交换文件" in result.output, result.output
    assert other.read_text(encoding="utf-8") == "the clerk's notes"


def test_a_missing_month_is_named_never_skipped(tmp_path, act_as, centres, registry):
    november, december = (export(act_as, tmp_path, centres, "3501", m) for m in ("2026-11", "2026-12"))
    refused = import_(act_as, registry, december)
    assert refused.exit_code == 1
    assert "缺少 2026-12 之前的各月" in refused.output and "从第 5 条开始" in refused.output, refused.output
    assert import_(act_as, registry, november).exit_code == 0
    act_as("3501")  # January's file comes, December's is still missing
    january = tmp_path / "sent" / "3501-2027-01.fjv"
    issue(centres["3501"], "3501", candidates("3501", 1, 7), Clock(dt.datetime(2027, 1, 5, 9)))
    assert run("export", "--month", "2027-01", "-o", january, "--ledger", centres["3501"]).exit_code == 0
    refused = import_(act_as, registry, january)
    assert refused.exit_code == 1 and "缺少 2026-12的文件" in refused.output, refused.output
    assert import_(act_as, registry, january, december).exit_code == 0


def test_an_empty_month_is_exported_and_imported(tmp_path, act_as, centres, registry):
    assert import_(act_as, registry, *files(act_as, tmp_path, centres)).exit_code == 0
    empty = export(act_as, tmp_path, centres, "3501", "2027-02")
    doc = json.loads(empty.read_bytes())
    assert doc["from"] == doc["to"] and doc["events"] == []
    result = import_(act_as, registry, empty)
    assert result.exit_code == 0 and "新增 0 条事件 (imported)" in result.output, result.output
    with sqlite3.connect(registry) as db:
        assert ("3501", "2027-02") in db.execute("SELECT center_code, month FROM imports").fetchall()


def forged(path, change):
    doc = json.loads(path.read_bytes())
    change(doc)
    forged_path = path.with_name("forged-" + path.name)
    forged_path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return forged_path


def edit_event(doc):
    data = json.loads(doc["events"][1][9])
    data[0] += "甲"  # the holder's name
    doc["events"][1][9] = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def edit_and_rehash(doc):
    from fjvoucher.ledger.chain import event_hash

    row = doc["events"][-1]
    row[6] = "改动"
    row[2] = event_hash(row[0], row[1], *row[3:])
    doc["to"]["hash"] = row[2]


@pytest.mark.parametrize("change, code", [
    (edit_event, "exchange-broken"),
    (edit_and_rehash, "exchange-signature"),
    (lambda doc: doc.update(signature="00" * 64), "exchange-signature"),
    (lambda doc: doc["events"].pop(), "exchange-broken"),
    (lambda doc: doc.update(format="something-else"), "exchange-unreadable"),
    (lambda doc: doc.update(fingerprint="ed25519:0000-0000-0000-0000-0000-0000-0000-0000"), "exchange-unreadable"),
])
def test_a_forged_file_is_refused_and_changes_nothing(tmp_path, act_as, centres, registry, change, code):
    november = export(act_as, tmp_path, centres, "3501", "2026-11")
    before = content(registry)
    result = import_(act_as, registry, forged(november, change), "--format", "json")
    outcome = json.loads(result.stdout)["files"][0]
    assert result.exit_code in (1, 2) and outcome["code"] == code, result.output
    assert str(november.parent) in outcome["message"]
    assert content(registry) == before


def test_a_file_signed_with_another_key_is_refused(tmp_path, act_as, centres, registry, keys):
    """The key of another centre, or a key the province never listed, cannot speak for 3501."""
    november = export(act_as, tmp_path, centres, "3501", "2026-11")
    shutil.copy(keys["3502"], keys["3501"])  # the thief signs 3501's ledger with 3502's key
    act_as("3501")
    stolen = tmp_path / "stolen.fjv"
    with Ledger(centres["3501"]) as ledger:
        from fjvoucher.ledger.exchange import export_month

        with pytest.raises(Exception, match="另一把密钥"):  # the centre's own audit sees the foreign key
            export_month(ledger, "2026-11", stolen, "3501")
    doc = json.loads(november.read_bytes())
    from fjvoucher.ledger.exchange import signed_message
    from fjvoucher.ledger.keys import load_key

    key = load_key(create=False)  # 3502's
    doc["public_key"], doc["fingerprint"] = key.public_key, key.fingerprint
    doc["signature"] = key.sign(signed_message("3501", "2026-11", (0, doc["from"]["hash"]),
                                               (4, doc["to"]["hash"]), key.public_key))
    stolen.write_text(json.dumps(doc), encoding="utf-8")
    result = import_(act_as, registry, stolen)
    assert result.exit_code == 1
    assert "却由密钥" in result.output and "自称来自中心 3501" in result.output, result.output
    unlisted = tmp_path / "unlisted.db"
    result = run("province", "import", november, "--ledger", unlisted)
    assert result.exit_code == 1 and "登记库没有中心 3501 的公钥" in result.output, result.output


def test_a_rewritten_history_is_refused_naming_the_first_difference(tmp_path, act_as, centres, registry):
    november = export(act_as, tmp_path, centres, "3501", "2026-11")
    assert import_(act_as, registry, november).exit_code == 0
    act_as("3501")  # the centre rebuilds November: same key, other vouchers
    rebuilt = tmp_path / "rebuilt.db"
    issue(rebuilt, "3501", candidates("3501", 4, 99), Clock(dt.datetime(2026, 11, 10, 9)))
    other = tmp_path / "rebuilt-2026-11.fjv"
    assert run("export", "--month", "2026-11", "-o", other, "--ledger", rebuilt).exit_code == 0
    before = content(registry)
    result = import_(act_as, registry, other)
    assert result.exit_code == 1, result.output
    assert "改写了已导入的历史：第 1 条事件已导入的是凭证 3501-2026-000001 的 issued" in result.output
    assert content(registry) == before


def test_a_no_held_by_another_centre_is_refused(tmp_path, act_as, centres, registry):
    assert import_(act_as, registry, export(act_as, tmp_path, centres, "3501", "2026-11")).exit_code == 0
    act_as("3502")  # 3502 issues NOs in 3501's pattern
    clash = tmp_path / "clash.db"
    with Ledger(clash, clock=Clock(dt.datetime(2026, 11, 12, 9))) as ledger, ledger.batch() as batch:
        batch.issue([{**{k: str(v) for k, v in r.items() if k != "voucher_no"}, "issued_on": dt.date(2026, 11, 12),
                      "batch_file": "", "page": None} for r in candidates("3502", 2, 55)],
                    template_sha256="", center_code="3501")
    sent = tmp_path / "clash.fjv"
    assert run("config", "set", "center_code", "3502").exit_code == 0  # the vouchers say 3501: the setting says who
    assert run("export", "--month", "2026-11", "-o", sent, "--ledger", clash).exit_code == 0
    result = import_(act_as, registry, sent)
    assert result.exit_code == 1 and "凭证编号 3501-2026-000001 已由中心 3501 发放" in result.output, result.output


def test_a_postgresql_ledger_is_not_an_offline_registry(postgres_url, tmp_path):
    result = run("province", "keys", "list", "--ledger", postgres_url)
    assert result.exit_code == 2 and "SQLite" in result.output, result.output


def test_serve_answers_from_the_registry(tmp_path, act_as, centres, registry):
    from starlette.testclient import TestClient

    from fjvoucher.web.app import Ledgers, create_app

    assert import_(act_as, registry, *files(act_as, tmp_path, centres)).exit_code == 0
    act_as("province")
    with Ledger(registry, readonly=True) as ledger:
        name = ledger.get("3502-2026-000003").fields["name"]
    ledgers = Ledgers([registry])
    with TestClient(create_app(ledgers, per_minute=0)) as client:
        answer = client.get("/api/verify", params={"no": "3502-2026-000003", "name": name}).json()
        revoked = client.get("/api/verify", params={"no": "3502-2026-000002", "name": "x"}).json()
    ledgers.close()
    assert answer["status"] in ("genuine", "expired") and revoked["status"] == "unknown"  # a wrong name: unknown


def signed_file(path, centre, month, start, rows):
    """Write a month's file for `centre` from event rows (COLUMNS' values), signed with the key now in use."""
    from fjvoucher.ledger.exchange import COLUMNS, FORMAT, encode_file, signed_message
    from fjvoucher.ledger.keys import load_key

    key = load_key(create=False)
    end = (rows[-1][0], rows[-1][2]) if rows else start
    header = {"format": FORMAT, "centre": centre, "month": month, "public_key": key.public_key,
              "fingerprint": key.fingerprint, "from": {"count": start[0], "hash": start[1]},
              "to": {"count": end[0], "hash": end[1]},
              "signature": key.sign(signed_message(centre, month, start, end, key.public_key)),
              "columns": list(COLUMNS)}
    path.write_bytes(encode_file(header, rows))
    return path


def test_a_centre_cannot_change_another_centres_voucher(tmp_path, act_as, centres, registry):
    """3502 signs a file of its own chain that revokes its own voucher, then one of 3501's: refused, nothing changed
    (the file is one transaction: its sound first event is not kept either)."""
    from fjvoucher.ledger.chain import event_hash

    sent = [export(act_as, tmp_path, centres, c, "2026-11") for c in CENTRES]
    assert import_(act_as, registry, *sent).exit_code == 0
    tip = json.loads(sent[1].read_bytes())["to"]
    act_as("3502")
    rows, prev = [], tip["hash"]
    for number, voucher in ((5, "3502-2026-000001"), (6, "3501-2026-000001")):
        event = [number, prev, "", voucher, "revoked", "2026-12-05T09:00:00", "收回", "clerk", "", "{}"]
        event[2] = prev = event_hash(event[0], event[1], *event[3:])
        rows.append(event)
    hostile = signed_file(tmp_path / "hostile.fjv", "3502", "2026-12", (tip["count"], tip["hash"]), rows)
    before = content(registry)
    result = import_(act_as, registry, hostile)
    assert result.exit_code == 1 and "第 6 条事件（凭证 3501-2026-000001" in result.output, result.output
    assert "不是中心 3502 发放的" in result.output
    assert content(registry) == before


def test_a_certificate_in_force_at_another_centre_is_refused(tmp_path, act_as, centres, registry):
    assert import_(act_as, registry, export(act_as, tmp_path, centres, "3501", "2026-11")).exit_code == 0
    stranger = candidates("3502", 1, 77)[0]
    stranger["certificate_no"] = candidates("3501", 4, 1)[2]["certificate_no"]  # 3501's third certificate
    act_as("3502")
    clash = tmp_path / "cert.db"
    issue(clash, "3502", [stranger], Clock(dt.datetime(2026, 11, 12, 9)))
    sent = tmp_path / "cert.fjv"
    assert run("export", "--month", "2026-11", "-o", sent, "--ledger", clash).exit_code == 0
    result = import_(act_as, registry, sent)
    assert result.exit_code == 1, result.output
    assert f"证书 {stranger['certificate_no']} 已有中心 3501 的有效凭证 3501-2026-000003" in result.output


def test_keys_are_listed_once_and_another_key_for_a_listed_centre_is_refused(tmp_path, act_as, registry, keys):
    act_as("3501")
    again = run("province", "keys", "add", "3501", tmp_path / "3501.pub", "--ledger", registry)
    assert again.exit_code == 0 and "already listed" in again.output
    from fjvoucher.ledger.keys import load_key

    act_as("province")
    other = load_key(create=True).public_key
    taken = run("province", "keys", "add", "3501", other, "--ledger", registry)
    assert taken.exit_code == 1 and "已登记密钥" in taken.output, taken.output
    listed = run("province", "keys", "list", "--ledger", registry)
    assert listed.output.count("ed25519:") == 2 and "已登记 2 个中心" in listed.output
    assert run("province", "keys", "add", "3501", "not-a-key", "--ledger", registry).exit_code == 2


def test_a_month_exported_early_then_again_adds_only_what_is_new(tmp_path, act_as, registry):
    act_as("3501")
    ledger = tmp_path / "early.db"
    issue(ledger, "3501", candidates("3501", 2, 31), Clock(dt.datetime(2026, 11, 10, 9)))
    early = tmp_path / "early.fjv"
    assert run("export", "--month", "2026-11", "-o", early, "--ledger", ledger).exit_code == 0
    issue(ledger, "3501", candidates("3501", 3, 32), Clock(dt.datetime(2026, 11, 20, 9)))
    whole = tmp_path / "whole.fjv"
    assert run("export", "--month", "2026-11", "-o", whole, "--ledger", ledger).exit_code == 0
    assert "新增 2 条事件" in import_(act_as, registry, early).output
    result = import_(act_as, registry, whole, early)
    assert result.exit_code == 0 and "新增 3 条事件" in result.output and "already imported" in result.output


def test_province_duplicates_finds_one_person_with_vouchers_from_two_centres(tmp_path, act_as, centres, registry):
    twin = candidates("3501", 4, 1)[0]  # 3501's first holder, the same occupation and level
    twin["certificate_no"] = twin["certificate_no"][:4] + "02" + twin["certificate_no"][6:11] + "9" + \
        twin["certificate_no"][12:]
    act_as("3502")
    issue(centres["3502"], "3502", [twin], Clock(dt.datetime(2026, 12, 20, 9)))
    assert import_(act_as, registry, *files(act_as, tmp_path, centres)).exit_code == 0
    found = run("province", "duplicates", "--ledger", registry, "--format", "json")
    assert found.exit_code == 1, found.output
    [duplicate] = json.loads(found.stdout)
    assert [v["voucher_no"] for v in duplicate["vouchers"]] == ["3501-2026-000001", "3502-2026-000008"]


def test_a_ledger_of_the_version_before_upgrades_and_still_audits_clean(tmp_path):
    """Schema 5 only adds the registry's tables: a centre's version-4 ledger takes them, empty, and proves itself."""
    path = tmp_path / "v4.db"
    issue(path, "3501", candidates("3501", 3, 41), Clock(dt.datetime(2026, 11, 10, 9)))
    with sqlite3.connect(path) as db:
        for table in ("centre_keys", "imported_events", "imports", "registry_seal"):
            db.execute(f"DROP TABLE {table}")
        db.execute("PRAGMA user_version = 4")
    result = run("audit", "--ledger", path)
    assert result.exit_code == 0 and "3 张凭证" in result.output, result.output
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 6
        assert db.execute("SELECT count(*) FROM imported_events").fetchone()[0] == 0


def test_the_readmes_offline_walk_is_true_as_written(tmp_path, monkeypatch, act_as):
    """Run the README's offline block line by line: centre 3501's lines with its key and ledger, the province's
    with its own."""
    import glob
    import shlex
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("### 离线：按月签名交换")[1].split("```bash\n")[1].split("```")[0]
    lines = [shlex.split(line.split("#")[0]) for line in block.splitlines() if line.strip() and line[0] != "#"]
    assert [words[1] for words in lines] == ["config", "province", "province", "export", "province", "province",
                                             "province", "audit", "serve"]
    monkeypatch.chdir(tmp_path)
    act_as("3501")
    issue(tmp_path / "3501.db", "3501", candidates("3501", 5, 1), Clock(dt.datetime(2026, 11, 10, 9)))
    (tmp_path / "收到").mkdir()
    for words in lines[:-1]:  # serve runs until stopped: its ledger is checked below
        centre = words[1] in ("config", "export")
        act_as("3501" if centre else "province")
        if centre:
            monkeypatch.setenv("FJVOUCHER_LEDGER", str(tmp_path / "3501.db"))
        else:
            monkeypatch.delenv("FJVOUCHER_LEDGER", raising=False)
        arguments = [a for w in words[1:] for a in (sorted(glob.glob(w)) if "*" in w else [w])]
        result = run(*arguments)
        assert result.exit_code == 0, (words, result.output)
        if words[1] == "export":
            shutil.copy(words[-1], tmp_path / "收到")  # sent to the province
    assert lines[-1][-2:] == ["--ledger", "省登记库.db"]
    assert (tmp_path / "上报-2026-11.csv").exists()
    with Ledger(tmp_path / "省登记库.db", readonly=True) as ledger:
        assert ledger.get("3501-2026-000005") is not None


def test_a_centre_whose_computer_died_goes_on_with_a_new_key(tmp_path, act_as, centres, registry, monkeypatch):
    """3501's PC dies after November was imported: a new PC restores the ledger from its backup, takes it over with
    its own key, the province lists that key in place of the old one, December continues the same chain.  The old
    key proves nothing past what the registry held when it was replaced."""
    november = export(act_as, tmp_path, centres, "3501", "2026-11")
    assert import_(act_as, registry, november).exit_code == 0
    old_december = export(act_as, tmp_path, centres, "3501", "2026-12")  # signed by the old key before it was lost
    from fjvoucher.ledger.keys import load_key

    old = load_key(create=False).fingerprint
    restored = tmp_path / "newpc" / "3501.db"
    restored.parent.mkdir()
    with sqlite3.connect(centres["3501"]) as source, sqlite3.connect(restored) as copy:
        source.backup(copy)  # the centre's ledger backup, without the key
    monkeypatch.setenv("FJVOUCHER_KEY", str(tmp_path / "newpc" / "key.pem"))
    monkeypatch.setenv("FJVOUCHER_LEDGER", str(restored))
    assert run("config", "set", "center_code", "3501").exit_code == 0
    cannot = run("export", "--month", "2026-12", "-o", tmp_path / "x.fjv")
    assert cannot.exit_code != 0 and not (tmp_path / "x.fjv").exists(), cannot.output
    taken = run("config", "key", "--take-over", "-o", tmp_path / "new.pub")
    assert taken.exit_code == 0 and old in taken.output, taken.output
    new = load_key(create=False).fingerprint
    assert new != old and new in taken.output
    december = tmp_path / "sent" / "3501-2026-12-new.fjv"
    assert run("export", "--month", "2026-12", "-o", december).exit_code == 0
    assert run("audit").exit_code == 0
    monkeypatch.delenv("FJVOUCHER_LEDGER")
    result = import_(act_as, registry, december)
    assert result.exit_code == 1 and "却由密钥" in result.output, result.output  # not listed yet
    plain = run("province", "keys", "add", "3501", tmp_path / "new.pub", "--ledger", registry)
    assert plain.exit_code == 1 and f"--replaces {old}" in plain.output, plain.output
    wrong = run("province", "keys", "add", "3501", tmp_path / "new.pub", "--replaces", new, "--ledger", registry)
    assert wrong.exit_code == 1 and "不是中心 3501 在用的密钥" in wrong.output, wrong.output
    replaced = run("province", "keys", "add", "3501", tmp_path / "new.pub", "--replaces", old, "--ledger", registry)
    assert replaced.exit_code == 0, replaced.output
    listed = run("province", "keys", "list", "--ledger", registry).output
    assert f"3501  {old}" in listed and "只证明到第 4 条事件" in listed and f"3501  {new}\n" in listed, listed
    result = import_(act_as, registry, december)
    assert result.exit_code == 0 and "新增 4 条事件" in result.output, result.output
    stale = import_(act_as, registry, old_december, november)
    assert stale.exit_code == 1 and "已被替换的密钥" in stale.output and "只能证明链的前 4 条事件" in stale.output
    assert "already imported" in stale.output  # November, all of it held before the replacement
    assert run("audit", "--ledger", registry).exit_code == 0
    with Ledger(registry, readonly=True) as book:
        assert book.get("3501-2026-000002").status == "revoked"


def test_a_tampered_backup_is_not_taken_over(tmp_path, centres, monkeypatch):
    restored = tmp_path / "restored.db"
    with sqlite3.connect(centres["3501"]) as source, sqlite3.connect(restored) as copy:
        source.backup(copy)
    with sqlite3.connect(restored) as db:
        db.execute("UPDATE vouchers SET name = '某某' WHERE voucher_no = '3501-2026-000001'")
    monkeypatch.setenv("FJVOUCHER_KEY", str(tmp_path / "newpc.pem"))
    before = content(restored)
    refused = run("config", "key", "--take-over", "--ledger", restored)
    assert refused.exit_code == 1 and "不能接管" in refused.output, refused.output
    assert content(restored) == before
