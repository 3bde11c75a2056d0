"""``payterm doctor``: the technician's self-check of every configured part, with fixes in words.

The run and its command are in ``runner``; the checks are grouped by what they look at
(``configuration``, ``system``, ``network``, ``parts``); ``hardware`` says how parts are
opened, ``session`` opens and closes them, ``prompts`` asks the technician, ``results``
and ``report`` are the rows and their printing.
"""
