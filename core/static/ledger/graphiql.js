// Starts GraphiQL on the ledger's own default query and headers (core/templates/ledger/graphiql.html).
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("ledger-graphiql-settings").textContent);
  var csrf = document.querySelector("[name=csrfmiddlewaretoken]");
  var fetcher = window.GraphiQL.createFetcher({
    url: settings.url,
    headers: csrf ? { "X-CSRFToken": csrf.value } : {},
  });
  var props = {
    fetcher: fetcher,
    defaultQuery: settings.defaultQuery,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: settings.headers ? "headers" : true,
  };
  if (settings.headers) {
    props.headers = settings.headers;
  }
  window.ReactDOM.render(
    window.React.createElement(window.GraphiQL, props),
    document.getElementById("graphiql"),
  );
})();
