// The user-assigned identity kiln runs as (KILN_MANAGED_IDENTITY_CLIENT_ID): every Azure call kiln makes,
// host storage, Application Insights and the Durable Task Scheduler authenticate with it.
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
