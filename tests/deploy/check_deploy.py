#!/usr/bin/env python3
"""Checks the deployment files under deploy/ (tests/e2e/deploy.rs runs it; so can you:
`python3 tests/deploy/check_deploy.py` from the repository root).

Fails, naming the file and what to change, unless:

- every *.yaml / *.yml under deploy/ parses (every document of it);
- every image (compose services, Kubernetes containers, kustomize `images`, Dockerfile FROM
  lines) is pinned: a tag with a full version (major.minor.patch; Debian's point releases
  are major.minor) or a digest; no `latest`, no missing tag, no floating major or minor;
- every Kubernetes Deployment's containers have a liveness probe on /livez and a readiness
  probe on /readyz (HTTP, on a declared port), resource requests (cpu, memory) and a memory
  limit, run as non-root with a read-only root filesystem; every pod running cityops has
  enableServiceLinks: false (no CITYOPS_*_SERVICE_HOST variables); every Deployment has a
  PodDisruptionBudget; every autoscaler targets a Deployment that exists; every workload's
  containers request cpu and memory; a Job runs `cityops migrate` and `cityops topics`;
  every Secret and ConfigMap a pod refers to is defined under deploy/k8s/;
- every long-running cityops service of the compose file has a healthcheck on /readyz or
  /livez, and compose and Kubernetes each run all five services;
- every CITYOPS_* variable that appears anywhere under deploy/, and every setting of
  config/cityops.toml (and of any cityops.toml a ConfigMap under deploy/ holds), flattened to
  its CITYOPS_<SECTION>__<KEY> name, is in the table of docs/operations.md, "Environment
  variables";
- every alert of the Prometheus rules has a severity and a runbook_url pointing at a heading
  of docs/operations.md, and every cityops_* metric it uses is emitted by the code
  (a string literal under crates/);
- `promtool check rules` and `promtool check config` pass (Debian's `prometheus` package,
  installed by `make setup`).

Prints a JSON summary and exits 0 on success; prints every problem to stderr and exits 1
otherwise. Standard library and PyYAML only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("check_deploy.py needs PyYAML: apt-get install python3-yaml (make setup)")

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OPERATIONS = ROOT / "docs" / "operations.md"
CONFIG = ROOT / "config" / "cityops.toml"
SERVICES = ("ingest", "enrich", "dispatch", "sink", "cockpit")
# Images whose releases are numbered major.minor (Debian 12.12): two numbers pin them.
TWO_NUMBER_IMAGES = {"debian", "ubuntu"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod"}

problems: list[str] = []


def problem(where: Path | str, what: str) -> None:
    where = where.relative_to(ROOT) if isinstance(where, Path) else where
    problems.append(f"{where}: {what}")


# --- images ------------------------------------------------------------------------------


def image_problem(ref: object) -> str | None:
    """Why `ref` is not a pinned image reference, or None when it is."""
    if not isinstance(ref, str) or not ref.strip():
        return "no image"
    ref = ref.strip()
    if "$" in ref:
        return f"image {ref!r} comes from a variable: write the exact tag"
    name, _, digest = ref.partition("@")
    if digest:
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return f"image {ref!r}: malformed digest"
        return None
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {ref!r} has no tag (that is `latest`): pin an exact version"
    repo, tag = name.rsplit(":", 1)
    base = repo.rsplit("/", 1)[-1]
    if "latest" in tag.lower():
        return f"image {ref!r} uses `latest`: pin an exact version"
    if re.search(r"(?<!\d)\d{8}(?!\d)", tag):  # a dated snapshot, e.g. bookworm-20250908-slim
        return None
    m = re.match(r"v?(\d+(?:\.\d+)*)", tag)
    if not m:
        return f"image {ref!r}: tag {tag!r} has no version number"
    numbers = len(m.group(1).split("."))
    need = 2 if base in TWO_NUMBER_IMAGES else 3
    if numbers < need:
        wanted = "major.minor" if need == 2 else "major.minor.patch"
        return f"image {ref!r}: tag {tag!r} floats (pin {wanted}, e.g. an exact release)"
    return None


def check_image(where: Path, what: str, ref: object, images: list[str]) -> None:
    why = image_problem(ref)
    if why:
        problem(where, f"{what}: {why}")
    else:
        images.append(str(ref))


def dockerfile_images(path: Path, images: list[str]) -> None:
    stages: set[str] = set()
    user = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.upper().startswith("FROM "):
            words = [w for w in line.split()[1:] if not w.startswith("--")]
            if not words:
                problem(path, f"FROM without an image: {raw!r}")
                continue
            ref = words[0]
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2].lower())
            user = None
            if ref.lower() in stages or ref == "scratch":
                continue
            check_image(path, f"FROM {ref}", ref, images)
        elif line.upper().startswith("USER "):
            user = line.split()[1]
    if user is None or user.split(":")[0] in ("root", "0"):
        problem(path, "the final stage must run as a non-root USER (numeric, for runAsNonRoot)")


# --- Kubernetes ----------------------------------------------------------------------------


def pod_spec(obj: dict) -> dict | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        return (job.get("template") or {}).get("spec")
    return (spec.get("template") or {}).get("spec")


def containers(spec: dict, init: bool = True) -> list[dict]:
    keys = ("initContainers", "containers") if init else ("containers",)
    return [c for k in keys for c in (spec.get(k) or []) if isinstance(c, dict)]


def probe_path(container: dict, probe: str) -> tuple[str | None, object]:
    http = ((container.get(probe) or {}).get("httpGet")) or {}
    return http.get("path"), http.get("port")


def check_k8s(objects: list[tuple[Path, dict]], generated_configmaps: set[str],
              images: list[str], summary: dict) -> None:
    kinds: dict[str, int] = {}
    secrets: dict[str, set[str]] = {}
    configmaps: dict[str, set[str]] = {name: set() for name in generated_configmaps}
    for _, obj in objects:
        kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
        name = (obj.get("metadata") or {}).get("name", "")
        if obj["kind"] == "Secret":
            secrets[name] = set((obj.get("stringData") or {}) | (obj.get("data") or {}))
        elif obj["kind"] == "ConfigMap":
            configmaps[name] = set((obj.get("data") or {}) | (obj.get("binaryData") or {}))
    summary["kubernetes"] = dict(sorted(kinds.items()))

    deployments: dict[str, dict] = {}
    run_services: set[str] = set()
    job_commands: set[str] = set()
    for path, obj in objects:
        kind, name = obj["kind"], (obj.get("metadata") or {}).get("name", "?")
        what = f"{kind} {name}"
        if kind == "Kustomization":
            for i, img in enumerate(obj.get("images") or []):
                if img.get("digest"):
                    continue
                ref = f"{img.get('newName') or img.get('name')}:{img.get('newTag', '')}"
                check_image(path, f"{what} images[{i}]", ref if img.get("newTag") else
                            img.get("newName") or img.get("name"), images)
            continue
        if kind not in WORKLOADS:
            continue
        spec = pod_spec(obj)
        if not isinstance(spec, dict):
            problem(path, f"{what}: no pod template")
            continue
        runs_cityops = any(str(c.get("image", "")).rsplit("/", 1)[-1].split(":")[0] == "cityops"
                           for c in containers(spec))
        if runs_cityops and spec.get("enableServiceLinks") is not False:
            problem(path, f"{what}: set enableServiceLinks: false (Kubernetes would set "
                          "CITYOPS_<SERVICE>_SERVICE_HOST... for the Services named cityops-*, "
                          "which cityops refuses as unknown settings)")
        for c in containers(spec) + [c for c in spec.get("ephemeralContainers") or []]:
            cname = c.get("name", "?")
            check_image(path, f"{what} container {cname}", c.get("image"), images)
            requests = ((c.get("resources") or {}).get("requests")) or {}
            for r in ("cpu", "memory"):
                if r not in requests:
                    problem(path, f"{what} container {cname}: no resources.requests.{r}")
            words = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
            job_commands.update(w for w in words if w in ("migrate", "topics"))
            # References to Secrets and ConfigMaps must resolve.
            for src in c.get("envFrom") or []:
                for ref_kind, table in (("secretRef", secrets), ("configMapRef", configmaps)):
                    ref = src.get(ref_kind)
                    if ref and ref.get("name") not in table and not ref.get("optional"):
                        problem(path, f"{what} container {cname}: {ref_kind} {ref.get('name')!r} "
                                      "is not defined under deploy/k8s/")
            for env in c.get("env") or []:
                if env.get("name") == "CITYOPS_RUN__SERVICES":
                    try:
                        run_services.update(tomllib.loads("v = " + str(env.get("value")))["v"])
                    except (tomllib.TOMLDecodeError, TypeError) as e:
                        problem(path, f"{what}: CITYOPS_RUN__SERVICES is not a TOML array: {e}")
                vf = env.get("valueFrom") or {}
                for ref_kind, table, label in (("secretKeyRef", secrets, "Secret"),
                                               ("configMapKeyRef", configmaps, "ConfigMap")):
                    ref = vf.get(ref_kind)
                    if not ref or ref.get("optional"):
                        continue
                    if ref.get("name") not in table:
                        problem(path, f"{what} env {env.get('name')}: {label} {ref.get('name')!r} "
                                      "is not defined under deploy/k8s/")
                    elif table[ref["name"]] and ref.get("key") not in table[ref["name"]]:
                        problem(path, f"{what} env {env.get('name')}: {label} {ref['name']} has no "
                                      f"key {ref.get('key')!r}")
        for vol in spec.get("volumes") or []:
            cm = (vol.get("configMap") or {}).get("name")
            if cm and cm not in configmaps and not vol["configMap"].get("optional"):
                problem(path, f"{what} volume {vol.get('name')}: ConfigMap {cm!r} is not defined "
                              "under deploy/k8s/ (nor generated by kustomization.yaml)")
            sec = (vol.get("secret") or {}).get("secretName")
            if sec and sec not in secrets and not vol["secret"].get("optional"):
                problem(path, f"{what} volume {vol.get('name')}: Secret {sec!r} is not defined")
        if kind != "Deployment":
            continue
        deployments[name] = obj
        pod_security = spec.get("securityContext") or {}
        for c in containers(spec, init=False):
            cname = c.get("name", "?")
            ports = {p.get("name") for p in c.get("ports") or []} | {
                p.get("containerPort") for p in c.get("ports") or []}
            for probe, want in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
                path_, port = probe_path(c, probe)
                if path_ != want:
                    problem(path, f"{what} container {cname}: {probe} must be an HTTP GET of "
                                  f"{want} (is {path_!r})")
                elif port not in ports:
                    problem(path, f"{what} container {cname}: {probe} port {port!r} is not one "
                                  "of the container's ports")
            limits = ((c.get("resources") or {}).get("limits")) or {}
            if "memory" not in limits:
                problem(path, f"{what} container {cname}: no resources.limits.memory")
            sc = c.get("securityContext") or {}
            if not (sc.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
                problem(path, f"{what} container {cname}: runAsNonRoot is not set")
            if sc.get("readOnlyRootFilesystem") is not True:
                problem(path, f"{what} container {cname}: readOnlyRootFilesystem is not true")

    for svc in SERVICES:
        if svc not in run_services:
            problem(DEPLOY / "k8s", f"no Deployment runs {svc} (CITYOPS_RUN__SERVICES)")
    for cmd in ("migrate", "topics"):
        if cmd not in job_commands:
            problem(DEPLOY / "k8s", f"no Job runs `cityops {cmd}`")
    pdb_selectors = [((o.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
                     for _, o in objects if o["kind"] == "PodDisruptionBudget"]
    for name, dep in deployments.items():
        labels = ((((dep.get("spec") or {}).get("template") or {}).get("metadata") or {})
                  .get("labels")) or {}
        if not any(sel and all(labels.get(k) == v for k, v in sel.items())
                   for sel in pdb_selectors):
            problem(DEPLOY / "k8s", f"Deployment {name} has no PodDisruptionBudget selecting "
                                    "its pods")
    for path, obj in objects:
        if obj["kind"] != "HorizontalPodAutoscaler":
            continue
        spec = obj.get("spec") or {}
        target = (spec.get("scaleTargetRef") or {}).get("name")
        if target not in deployments:
            problem(path, f"HorizontalPodAutoscaler {obj['metadata'].get('name')}: target "
                          f"{target!r} is not a Deployment under deploy/k8s/")
        if (spec.get("maxReplicas") or 0) < (spec.get("minReplicas") or 1):
            problem(path, f"HorizontalPodAutoscaler {obj['metadata'].get('name')}: "
                          "maxReplicas < minReplicas")


# --- compose -------------------------------------------------------------------------------


def check_compose(path: Path, doc: dict, images: list[str], summary: dict) -> None:
    services = doc.get("services") or {}
    one_shot = set()
    for svc in services.values():
        deps = (svc or {}).get("depends_on") or {}
        if isinstance(deps, dict):
            one_shot.update(k for k, v in deps.items()
                            if (v or {}).get("condition") == "service_completed_successfully")
    run_services: set[str] = set()
    for name, svc in services.items():
        svc = svc or {}
        if "image" not in svc:
            problem(path, f"service {name}: no image (give a built image an exact tag too)")
        else:
            check_image(path, f"service {name}", svc["image"], images)
        image = str(svc.get("image", ""))
        is_cityops = "build" in svc or image.rsplit("/", 1)[-1].split(":")[0] == "cityops"
        if is_cityops:
            env = svc.get("environment") or {}
            if isinstance(env, list):
                env = dict(e.split("=", 1) for e in env if "=" in e)
            if "CITYOPS_RUN__SERVICES" in env:
                try:
                    value = str(env["CITYOPS_RUN__SERVICES"])
                    run_services.update(tomllib.loads("v = " + value)["v"])
                except tomllib.TOMLDecodeError as e:
                    problem(path, f"service {name}: CITYOPS_RUN__SERVICES is not a TOML array: {e}")
        long_running = name not in one_shot and str(svc.get("restart", "")) != "no"
        if is_cityops and long_running:
            hc = svc.get("healthcheck") or {}
            test = hc.get("test")
            text = " ".join(test) if isinstance(test, list) else str(test or "")
            if hc.get("disable") or not test:
                problem(path, f"service {name}: no healthcheck")
            elif "/readyz" not in text and "/livez" not in text:
                problem(path, f"service {name}: the healthcheck must ask /readyz (or /livez)")
    for svc in SERVICES:
        if svc not in run_services:
            problem(path, f"no service runs {svc} (CITYOPS_RUN__SERVICES)")
    summary["compose_services"] = sorted(services)


# --- environment variables -------------------------------------------------------------------

IDENT = re.compile(r"[a-z_][a-z0-9_]*")


def flatten(table: dict, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Setting paths of a TOML table; a table with keys that are not identifiers (topic
    names, department ids) is a map: the setting is the table itself."""
    out = []
    for key, value in table.items():
        if isinstance(value, dict) and not value:
            continue  # a section whose settings are all commented out
        if isinstance(value, dict) and all(IDENT.fullmatch(k) for k in value):
            out += flatten(value, path + (key,))
        else:
            out.append(path + (key,))
    return out


def commented_settings(text: str) -> list[tuple[str, ...]]:
    """Settings shown commented out (`# key = value`) in a TOML file, by section."""
    out, section = [], ()
    for raw in text.splitlines():
        line = raw.strip()
        m = re.fullmatch(r"#?\s*\[([a-z0-9_.]+)\]\s*(#.*)?", line)
        if m:
            section = tuple(m.group(1).split("."))
            continue
        m = re.match(r"#\s*([a-z_][a-z0-9_]*)\s*=\s*\S", line)
        if m:
            out.append(section + (m.group(1),))
    return out


def env_name(path: tuple[str, ...]) -> str:
    return "CITYOPS_" + "__".join(p.upper() for p in path)


def documented_variables() -> tuple[set[str], list[re.Pattern]]:
    text = OPERATIONS.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines)
                  if re.fullmatch(r"#+\s+Environment variables\s*", l.strip())), None)
    if start is None:
        problem(OPERATIONS, 'no "Environment variables" section')
        return set(), []
    names: set[str] = set()
    patterns: list[re.Pattern] = []
    in_table = False
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if line.lstrip().startswith("|"):
            in_table = True
            first = line.strip().strip("|").split("|")[0]
            for name in re.findall(r"`([A-Z][A-Z0-9_.<>a-z-]*)`", first):
                if "<" in name:
                    patterns.append(re.compile(
                        re.sub(r"<[^>]+>", "[A-Z0-9_.-]+", re.escape(name).replace(r"\<", "<")
                               .replace(r"\>", ">")) + r"\Z"))
                else:
                    names.add(name)
        elif in_table and line.strip() == "":
            # The one table ends at its first blank line after it started.
            break
    if not names:
        problem(OPERATIONS, '"Environment variables" has no table of variables')
    return names, patterns


def check_environment(toml_files: list[tuple[Path, str]], summary: dict) -> None:
    names, patterns = documented_variables()

    def documented(name: str) -> bool:
        return name in names or any(p.match(name) for p in patterns)

    used: dict[str, Path] = {}
    for path in sorted(DEPLOY.rglob("*")):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for name in re.findall(r"\bCITYOPS_(?:[A-Z0-9_.]*[A-Z0-9])", text):
            used.setdefault(name, path)
    for name, path in sorted(used.items()):
        if not documented(name):
            problem(path, f"{name} is not in the table of docs/operations.md, "
                          '"Environment variables"')

    settings: set[str] = set()
    for path, text in toml_files:
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            problem(path, f"not valid TOML: {e}")
            continue
        for setting in flatten(table) + commented_settings(text):
            name = env_name(setting)
            settings.add(name)
            if not documented(name):
                problem(path, f"setting {'.'.join(setting)} ({name}) is not in the table of "
                              'docs/operations.md, "Environment variables" (or is it a typo?)')
    summary["environment"] = {
        "documented": len(names) + len(patterns),
        "used_under_deploy": len(used),
        "settings_checked": len(settings),
    }


# --- Prometheus ------------------------------------------------------------------------------


def heading_anchors(text: str) -> set[str]:
    anchors = set()
    for line in text.splitlines():
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            s = re.sub(r"[^\w\- ]", "", m.group(1).lower())
            anchors.add(s.replace(" ", "-"))
        anchors.update(re.findall(r'<a (?:id|name)="([^"]+)"', line))
    return anchors


def code_metrics() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "crates").rglob("*.rs"))


def check_rules(path: Path, doc: dict, anchors: set[str], code: str, summary: dict) -> None:
    alerts = summary.setdefault("alerts", [])
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            name = rule.get("alert")
            if not name:
                continue
            alerts.append(name)
            if not (rule.get("labels") or {}).get("severity"):
                problem(path, f"alert {name}: no labels.severity")
            url = str((rule.get("annotations") or {}).get("runbook_url", ""))
            m = re.search(r"operations\.md#(.+)$", url)
            if not m:
                problem(path, f"alert {name}: annotations.runbook_url must point at its runbook, "
                              "docs/operations.md#<anchor>")
            elif m.group(1) not in anchors:
                problem(path, f"alert {name}: runbook_url anchor #{m.group(1)} is not a heading "
                              "of docs/operations.md")
            for metric in sorted(set(re.findall(r"\bcityops_[a-z0-9_]+", str(rule.get("expr"))))):
                base = re.sub(r"_(bucket|sum|count)$", "", metric)
                if f'"{metric}"' not in code and f'"{base}"' not in code:
                    problem(path, f"alert {name}: metric {metric} is not emitted by the code "
                                  "(no string literal under crates/): add it, or change the rule")


def promtool(kind: str, path: Path) -> None:
    exe = shutil.which("promtool")
    if exe is None:
        problem(path, "promtool not found: install Debian's prometheus package (make setup)")
        return
    run = subprocess.run([exe, "check", kind, str(path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    if run.returncode != 0:
        problem(path, f"promtool check {kind} failed:\n{run.stdout}{run.stderr}")


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    summary: dict = {"files": [], "documents": 0}
    images: list[str] = []
    k8s: list[tuple[Path, dict]] = []
    generated_configmaps: set[str] = set()
    toml_files: list[tuple[Path, str]] = [(CONFIG, CONFIG.read_text(encoding="utf-8"))]
    anchors = heading_anchors(OPERATIONS.read_text(encoding="utf-8"))
    code = code_metrics()
    rules_files, config_files = [], []

    files = sorted(p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
    for path in files:
        summary["files"].append(str(path.relative_to(ROOT)))
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                    if d is not None]
        except yaml.YAMLError as e:
            problem(path, f"not valid YAML: {e}")
            continue
        summary["documents"] += len(docs)
        for doc in docs:
            if not isinstance(doc, dict):
                problem(path, "a document that is not a mapping")
                continue
            if isinstance(doc.get("kind"), str) and "apiVersion" in doc:
                k8s.append((path, doc))
                if doc["kind"] == "Kustomization":
                    generated_configmaps.update(g.get("name") for g in
                                                doc.get("configMapGenerator") or [])
                if doc["kind"] == "ConfigMap":
                    for key, value in (doc.get("data") or {}).items():
                        if key == "cityops.toml":
                            toml_files.append((path, value))
            elif isinstance(doc.get("services"), dict):
                check_compose(path, doc, images, summary)
            elif "scrape_configs" in doc:
                config_files.append(path)
                jobs = {str(j.get("job_name")) for j in doc.get("scrape_configs") or []}
                for svc in SERVICES:
                    if f"cityops-{svc}" not in jobs:
                        problem(path, f"no scrape job cityops-{svc} (the alerts read "
                                      'up{job=~"cityops-.+"})')
            elif "groups" in doc:
                rules_files.append(path)
                check_rules(path, doc, anchors, code, summary)

    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and (path.name == "Dockerfile" or path.name.startswith("Dockerfile.")
                               or path.name.endswith(".Dockerfile")):
            dockerfile_images(path, images)

    check_k8s(k8s, generated_configmaps, images, summary)
    check_environment(toml_files, summary)
    if not rules_files:
        problem(DEPLOY / "prometheus", "no Prometheus rule file (alerts.yaml)")
    for path in rules_files:
        promtool("rules", path)
    for path in config_files:
        promtool("config", path)

    summary["images"] = sorted(set(images))
    summary["promtool"] = {"rules": [str(p.relative_to(ROOT)) for p in rules_files],
                           "config": [str(p.relative_to(ROOT)) for p in config_files]}
    if problems:
        print(f"check_deploy: {len(problems)} problem(s)", file=sys.stderr)
        for p in problems:
            print(f"- {p}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
