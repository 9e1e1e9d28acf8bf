"""`dipkb import`: coded event datasets (GDELT, ICEWS, PLOVER) and simple tables (CSV, YAML) to KB events.

:mod:`dipkb.authoring.importing` is the entry point: :func:`~dipkb.authoring.importing.run_import` reads a
file into Turtle and a report that accounts for every row, then
:func:`~dipkb.authoring.importing.commit_import` validates it and adds it to the KB atomically;
:func:`~dipkb.authoring.importing.rejected_lines` gives the rejected rows with their reasons. This
package module imports nothing: authoring builds on the readers here (reconcile, records, codes), and
the pipeline builds on authoring for tables, so importing the pipeline here would close a circle.
"""
