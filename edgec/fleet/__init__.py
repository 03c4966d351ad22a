"""Fleet campaigns with Ansible (`edgec fleet`): the inventory, the shipped playbook and role,
and what comes back. Workstation only: never imported by the device commands."""
