"""Differences between the binding sources of two NVIDIA/TensorRT tags, and their application to
a surface: how 8.5 and 8.2, which have no readable wheel, are derived from 8.6 and 8.4.

A delta is {"from": tag, "to": tag, "remove": [...], "add": [...]}. A removal names a class
alone (the whole class goes), or a class and one "method", "property" or "enum_member", or a
"function". An addition names a class with "methods" (a whole class, with "properties" and
"enum_members"), or a class and one "method" (with "params"), "property" or "enum_member", or
a "function" (with "params"). Every entry has a "source": the file it comes from.
"""
import subprocess
from typing import Any, Dict, List, Set, Tuple

from tools.trt_surface.cpp_bindings import BindingClass, parse_binding_sources
from tools.trt_surface.schema import Classes, Functions, copy_classes, new_class_entry

Delta = Dict[str, Any]
# the deltas.json key: (tag of the wheel's sources, tag of the version derived from it)
DELTA_TAGS = {"8.5": ("release/8.6", "8.5.2"), "8.2": ("8.4.1", "8.2.1")}
ABOUT = ("Differences between the pybind11 binding sources (python/src/**.cpp) of "
         "NVIDIA/TensorRT at two tags, computed by `python -m tools.trt_surface "
         "--make-deltas`. 'remove': present at 'from', absent at 'to'; 'add': present "
         "at 'to' only (or with other parameters).")
SOURCE_URL = "https://github.com/NVIDIA/TensorRT/blob/%s/%s"
SINGULAR = {"methods": "method", "properties": "property", "enum_members": "enum_member"}


def source_files(repo: str, ref: str) -> List[Tuple[str, str]]:
    """(path, text) of every python/src/**.cpp at ref of a NVIDIA/TensorRT git clone."""
    listing = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", ref, "--",
                              "python/src"], capture_output=True, text=True, check=True)
    return [(path, subprocess.run(["git", "-C", repo, "show", ref + ":" + path],
                                  capture_output=True, text=True, check=True).stdout)
            for path in sorted(listing.stdout.split()) if path.endswith(".cpp")]


def _class_changes(name: str, new: BindingClass, old: BindingClass, new_ref: str,
                   source: str) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Removals and additions that turn class name as bound at new_ref into old's form."""
    remove, add = [], []
    for kind, singular in SINGULAR.items():
        new_names, old_names = new[kind], old[kind]
        for member in dict.fromkeys(new_names):
            if member not in old_names:
                remove.append({"class": name, singular: member,
                               "source": source + " (no " + member + ")"})
        for member in dict.fromkeys(old_names):
            if member not in new_names:
                entry = {"class": name, singular: member, "source": source}
                if kind == "methods":
                    entry["params"] = old_names[member]
                add.append(entry)
        if kind == "methods":
            for method in new_names:
                if method in old_names and new_names[method] != old_names[method] \
                        and old_names[method] and new_names[method]:
                    add.append({"class": name, "method": method, "params": old_names[method],
                                "source": source, "note": "parameters differ from " + new_ref})
    return remove, add


def diff_bindings(new: Tuple[Dict[str, BindingClass], Functions],
                  old: Tuple[Dict[str, BindingClass], Functions],
                  new_ref: str, old_ref: str) -> Delta:
    """What changes from the bindings at new_ref to those at old_ref (parse_binding_sources
    results): removals and additions, each with its source."""
    (new_classes, new_functions), (old_classes, old_functions) = new, old
    remove, add = [], []
    for name in sorted(set(new_classes) | set(old_classes)):
        new_class, old_class = new_classes.get(name), old_classes.get(name)
        if new_class and not old_class:
            remove.append({"class": name, "source": SOURCE_URL % (new_ref, new_class["where"])
                           + " (absent at " + old_ref + ")"})
        elif old_class and not new_class:
            add.append({"class": name, "enum_members": old_class["enum_members"],
                        "properties": sorted(set(old_class["properties"])),
                        "methods": old_class["methods"],
                        "source": SOURCE_URL % (old_ref, old_class["where"])})
        elif new_class and old_class:
            removed, added = _class_changes(name, new_class, old_class, new_ref,
                                            SOURCE_URL % (old_ref, old_class["where"]))
            remove += removed
            add += added
    for function in sorted(set(new_functions) - set(old_functions)):
        remove.append({"function": function,
                       "source": "NVIDIA/TensorRT@%s python/src (absent)" % old_ref})
    for function in sorted(set(old_functions) - set(new_functions)):
        add.append({"function": function, "params": old_functions[function],
                    "source": "NVIDIA/TensorRT@%s python/src" % old_ref})
    return {"from": new_ref, "to": old_ref, "remove": remove, "add": add}


def make_deltas(repo: str) -> Dict[str, Any]:
    """deltas.json's content, from a NVIDIA/TensorRT clone with the tags."""
    deltas: Dict[str, Any] = {
        key: diff_bindings(parse_binding_sources(source_files(repo, new_ref)),
                           parse_binding_sources(source_files(repo, old_ref)), new_ref, old_ref)
        for key, (new_ref, old_ref) in DELTA_TAGS.items()}
    deltas["_about"] = ABOUT
    return deltas


def _remove(classes: Classes, functions: Functions, removal: Dict[str, Any]) -> None:
    if "function" in removal:
        functions.pop(removal["function"], None)
        return
    name = removal["class"]
    if name not in classes:
        return
    if set(removal) <= {"class", "source", "note"}:  # the whole class
        del classes[name]
        parent, _, inner = name.rpartition(".")
        if parent in classes:
            classes[parent]["attributes"].discard(inner)
        return
    entry = classes[name]
    if "method" in removal:
        entry["methods"].pop(removal["method"], None)
        entry["overloads"].pop(removal["method"], None)
    if "property" in removal:
        entry["properties"].discard(removal["property"])
    if "enum_member" in removal and removal["enum_member"] in entry["enum_members"]:
        entry["enum_members"].remove(removal["enum_member"])
        entry.get("enum_values", {}).pop(removal["enum_member"], None)


def _add(classes: Classes, functions: Functions, addition: Dict[str, Any]) -> None:
    if "function" in addition:
        functions[addition["function"]] = addition.get("params", [])
        return
    entry = classes.setdefault(addition["class"], new_class_entry())
    if "methods" in addition:  # a whole class
        entry["methods"].update(addition["methods"])
        entry["properties"].update(addition.get("properties", []))
        entry["enum_members"] += [m for m in addition.get("enum_members", [])
                                  if m not in entry["enum_members"]]
    if "method" in addition:  # with the other version's parameters, and no overloads
        entry["methods"][addition["method"]] = addition.get("params", [])
        entry["overloads"].pop(addition["method"], None)
    if "property" in addition:
        entry["properties"].add(addition["property"])
    if "enum_member" in addition and addition["enum_member"] not in entry["enum_members"]:
        entry["enum_members"].append(addition["enum_member"])


def apply_delta(classes: Classes, functions: Functions, delta: Delta) -> None:
    """Change classes and functions in place: every removal first, then every addition."""
    for removal in delta["remove"]:
        _remove(classes, functions, removal)
    for addition in delta["add"]:
        _add(classes, functions, addition)


def derive_surface(classes: Classes, functions: Functions, attributes: Set[str],
                   delta: Delta) -> Tuple[Classes, Functions, Set[str]]:
    """Another version's surface: a copy of this one with delta applied (the inputs are left as
    they are). The module keeps `__version__`."""
    derived_classes, derived_functions = copy_classes(classes), dict(functions)
    apply_delta(derived_classes, derived_functions, delta)
    return derived_classes, derived_functions, set(attributes) | {"__version__"}
