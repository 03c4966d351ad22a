"""Records why each board stopped (unreachable, or the task that failed and its message) and
the play's per-host counts into the JSON file $EDGEC_FLEET_OUTCOMES, for `edgec fleet run`."""
import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "edgec_outcomes"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.hosts = {}

    def _host(self, result):
        return self.hosts.setdefault(result._host.get_name(), {})

    def v2_runner_on_unreachable(self, result):
        self._host(result).update(stopped="unreachable", task=result._task.get_name(),
                                  message=str(result._result.get("msg", "")).strip())

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            return
        self._host(result).update(stopped="failed", task=result._task.get_name(),
                                  message=str(result._result.get("msg", "")).strip())

    def v2_playbook_on_stats(self, stats):
        for host in stats.processed:
            self.hosts.setdefault(host, {})["stats"] = stats.summarize(host)
        path = os.environ.get("EDGEC_FLEET_OUTCOMES")
        if path:
            with open(path, "w") as handle:
                json.dump(self.hosts, handle, indent=2, sort_keys=True)
