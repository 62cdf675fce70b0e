// The Durable Task Scheduler backend (durableBackend = 'DurableTaskScheduler'): a scheduler and kiln's task
// hub. The function app selects it through app settings (host.json stays the same for both backends).
param name string
param location string
param tags object

@allowed([
  'Consumption'
  'Dedicated'
])
param sku string

@minLength(1)
param ipAllowlist array
param taskHubName string

// Dedicated capacity units are bought one at a time; Consumption bills per orchestration action.
var skuObject = sku == 'Dedicated' ? { name: 'Dedicated', capacity: 1 } : { name: 'Consumption' }

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    ipAllowlist: ipAllowlist
    sku: skuObject
  }
}

resource hub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = hub.name
