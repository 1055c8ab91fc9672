# Lets `flask` find the app in a checkout: `flask db upgrade`, `flask run`, `flask worker`.
FLASK_APP=app
