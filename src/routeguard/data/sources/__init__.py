"""Source loaders, one module per family of datasets. Importing this package registers them all."""
from importlib import import_module
from pkgutil import iter_modules

for _m in iter_modules(__path__):
    import_module(f"{__name__}.{_m.name}")
