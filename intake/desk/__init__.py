"""The advisor's desk (``intake serve``): a local Django web application over the document store."""
