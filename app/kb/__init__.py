"""Knowledge-base authoring: entries in the database, reviewed changes, versions, export and import."""
