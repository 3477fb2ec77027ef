"""`explain` and `diff`: what a NetworkPolicy allows and what a change opens or closes.

model.py      the explain model (subject, per-direction state, grants) built from the typed view
labels.py     label selectors in normal form (exact implication); ports.py, addresses.py: exact sets
coverage.py   is a grant admitted by other grants: covered | opens | unknown (sound)
diff.py       changes between two sets of explanations
document.py   the JSON documents (explainVersion 1, diffVersion 1) every rendering reads
text.py, markdown.py   the renderings for people; admission.py: the admission warning lines
inputs.py     reading files, directories, stdin and git revisions into explanations
"""
