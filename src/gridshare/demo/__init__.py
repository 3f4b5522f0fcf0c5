"""The demo utility "Demo Gas & Electric" (DG&E): a whole synthetic utility built from a seed.

`generator.build` writes it into a freshly migrated database; `docs/demo.md` lists its sandbox
test customers.
"""
