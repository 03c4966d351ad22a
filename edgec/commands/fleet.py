"""`edgec fleet`: benchmark a bundle on a fleet of Jetsons with Ansible (workstation only)."""
import click

from edgec.commands.options import json_option
from edgec.commands.output import emit_json, say_on_stderr
from edgec.artifacts import PRECISIONS


@click.group()
def fleet():
    """Campaigns over a fleet of Jetsons: an inventory, then one command that preflights every
    board, ships the bundle, builds, benchmarks, fetches the results and writes the report."""


@fleet.command()
@click.option("-o", "--output", "path", default="inventory.yml", show_default=True,
              type=click.Path(dir_okay=False))
@json_option
def init(path, as_json):
    """Write an inventory template: board groups, JetPack groups (image tag and Python), mode."""
    from edgec.fleet.inventory import write_template

    record = write_template(path)
    if as_json:
        emit_json(record)
        return
    click.echo("wrote %s: put your boards in its groups (board: %s; JetPack: %s)"
               % (path, ", ".join(record["board_groups"]), ", ".join(record["jetpack_groups"])))


@fleet.command()
@click.option("--inventory", "inventory_path", required=True,
              type=click.Path(dir_okay=False, exists=True))
@click.option("--bundle", "bundle_path", required=True, type=click.Path(dir_okay=False))
@click.option("--image", "image_path", default=None, type=click.Path(dir_okay=False),
              help="Container mode: an image tarball (docker save) loaded where the image is "
                   "missing. No registry is used.")
@click.option("--precision", "precisions", multiple=True, type=click.Choice(PRECISIONS),
              help="Repeat for several (default mix).")
@click.option("--limit", multiple=True, help="Only these hosts or groups (repeatable).")
@click.option("--check", is_flag=True,
              help="Dry run: ansible --check on the boards, nothing written here.")
@click.option("-o", "--output", "out_dir", default="results", show_default=True,
              type=click.Path(file_okay=False))
@json_option
def run(inventory_path, bundle_path, image_path, precisions, limit, check, out_dir, as_json):
    """Preflight every board, ship the bundle, build and bench, fetch into OUT/<host>/ and merge
    into OUT/report/. Boards with results for this bundle already are skipped."""
    from edgec.fleet.campaign import run_campaign

    say = say_on_stderr(as_json)
    record = run_campaign(inventory_path, bundle_path, out_dir, image_path,
                          list(precisions) or ["mix"], list(limit), check, echo=say)
    if as_json:
        emit_json(record)
        return
    for host, row in sorted(record["hosts"].items()):
        click.echo("%-16s %-11s %-9s %s%s" % (host, row["board"], row["mode"], row["status"],
                                              ": " + row["reason"] if row.get("reason") else ""))
    click.echo("%d new results%s in %.1f s" % (
        record["new_results"], ", report in %s" % record["report"]["files"]["markdown"]
        if record["report"] else "", record["seconds"]))


@fleet.command()
@click.option("--inventory", "inventory_path", required=True,
              type=click.Path(dir_okay=False, exists=True))
@click.option("--bundle", "bundle_path", required=True, type=click.Path(dir_okay=False))
@click.option("--precision", "precisions", multiple=True, type=click.Choice(PRECISIONS),
              help="Repeat for several (default mix).")
@click.option("--namespace", default="edgec", show_default=True,
              help="The Jobs' namespace (it must exist in the cluster).")
@click.option("-o", "--output", "out_dir", default="k8s", show_default=True,
              type=click.Path(file_okay=False))
@json_option
def k8s(inventory_path, bundle_path, precisions, namespace, out_dir, as_json):
    """Kubernetes (k3s) instead of Ansible: one Job per board of the inventory (node selector
    edgec.io/board, runtime class nvidia, the JetPack group's image) and a kustomization.yaml.
    Copy the bundle to /var/lib/edgec/bundles/<sha256>.tar.gz on every node first; results
    land in /var/lib/edgec/results/<host>/ there."""
    from edgec.fleet.k8s import write_jobs

    record = write_jobs(inventory_path, bundle_path, out_dir, list(precisions) or ["mix"],
                        namespace)
    if as_json:
        emit_json(record)
        return
    for host, row in sorted(record["jobs"].items()):
        click.echo("%-16s %-11s %-12s %s" % (host, row["board"], row["image"], row["file"]))
    click.echo("wrote %s; copy the bundle to %s on every node, then kubectl apply -k %s"
               % (record["kustomization"], record["bundle_on_node"], out_dir))
